"""``gxc policy``: validate, evaluate and explain ODRL policies; list the policy templates."""

from __future__ import annotations

import typer

app = typer.Typer(help="ODRL 2.2 policies: validate, evaluate, explain, templates.", no_args_is_help=True)
