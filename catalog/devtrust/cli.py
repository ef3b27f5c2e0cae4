"""``gxc trust``: create and run the development trust anchor (CA, notary, compliance service, federation)."""

from __future__ import annotations

import datetime as dt
import errno
import logging.config
import socket
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from catalog.devtrust.state import CONFIG, ROLES, init_trust, load_trust
from connector.errors import ConnectorError
from connector.logs import logging_config

app = typer.Typer(
    help="Development trust anchor: data space CA, notary, compliance service, federation.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)
out = Console()

StateDir = Annotated[Path, typer.Option("--state-dir", "-d", help="Trust anchor state folder.")]


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@app.command("init")
def init_command(
    state_dir: StateDir = Path(".gxc/trust"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
    dataspace: Annotated[str, typer.Option(help="Identifier of the data space.")] = "urn:gxc:dataspace:demo",
    force: Annotated[bool, typer.Option(help="Replace an existing trust anchor (new CA!).")] = False,
    public_url: Annotated[str | None, typer.Option(help="Base URL others use (defines the issuers' DIDs).")] = None,
) -> None:
    """Create the data space CA, the issuers' keys and trust.toml."""
    try:
        config = init_trust(
            state_dir, host=host, port=port, dataspace=dataspace, now=dt.datetime.now(dt.UTC), force=force
        )
    except ConnectorError as exc:
        _fail(exc.message)
    out.print(f"[green]Created[/] the trust anchor in [bold]{state_dir}[/] ({config})")
    out.print(f"Participants get certificates from it with: gxc init --ca-dir {state_dir / 'pki'} ...")


@app.command("serve")
def serve_command(state_dir: StateDir = Path(".gxc/trust")) -> None:
    """Run the trust anchor until Ctrl-C."""
    try:
        trust = load_trust(state_dir)
    except ConnectorError as exc:
        _fail(exc.message)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((trust.host, trust.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {trust.port} on {trust.host} is already in use; change port in {state_dir / CONFIG}")
        _fail(f"cannot listen on {trust.host}:{trust.port}: {exc.strerror}")
    config = logging_config("info", "json")
    logging.config.dictConfig(config)
    table = Table(title="gxc development trust anchor", show_header=False)
    table.add_row("root CA", f"{trust.base_url}/pki/root-ca.pem")
    for role in ROLES:
        table.add_row(role, trust.did(role))
    table.add_row("OpenAPI docs", f"{trust.base_url}/docs")
    out.print(table)
    # The app (SHACL and compliance: rdflib, pyoxigraph) is imported here, not with the command: this module is a
    # `gxc` plugin, loaded by every gxc process, the connector server included.
    from catalog.devtrust.app import create_trust_app

    server = uvicorn.Server(uvicorn.Config(create_trust_app(trust), log_config=config, access_log=False))
    server.run(sockets=[sock])
