"""The ``gxc`` command line (typer + rich): one module per command group, assembled in :mod:`connector.cli.main`."""

from connector.cli.main import app, main

__all__ = ["app", "main"]
