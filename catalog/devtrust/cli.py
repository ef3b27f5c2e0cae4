"""``gxc trust``: create and run the development trust anchor (CA, notary, compliance service, federation), and
change the status of the credentials it issued (W3C Bitstring Status List v1.0: ``revoke``, ``suspend``,
``unsuspend``; ``credentials`` lists them). Status changes are written to the state folder's ``status.db``; a
running ``gxc trust serve`` publishes them in its next status list answer, and they survive restarts."""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging.config
import socket
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from catalog.devtrust.state import CONFIG, ROLES, init_trust, load_trust
from catalog.devtrust.status import DATABASE, IssuedCredential, StatusChangeError, StatusRegistry
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


# --- credential status (W3C Bitstring Status List v1.0) -------------------------------------------------------

CredentialId = Annotated[
    str | None, typer.Argument(help="Id of the credential (see `gxc trust credentials`); or use --participant.")
]
Participant = Annotated[
    str | None, typer.Option("--participant", help="Every credential issued to this DID (instead of an id).")
]
CredentialType = Annotated[
    str | None, typer.Option("--type", help="With --participant: only credentials of this type.")
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (kept in the trust anchor's record).")]


def _registry(state_dir: Path) -> StatusRegistry:
    if not (state_dir / CONFIG).exists():
        _fail(f"no trust anchor in {state_dir} ({CONFIG} is missing); create it with `gxc trust init`")
    return StatusRegistry(state_dir / DATABASE)


def _selected(
    registry: StatusRegistry, credential_id: str | None, participant: str | None, type_: str | None
) -> list[IssuedCredential]:
    if (credential_id is None) == (participant is None):
        _fail("name one credential id, or --participant DID (optionally with --type)", code=2)
    try:
        if credential_id is not None:
            return [registry.get(credential_id)]
    except StatusChangeError as exc:
        _fail(exc.message)
    found = registry.find(subject=participant, type_=type_)
    if not found:
        _fail(f"no credential was issued to {participant}" + (f" of type {type_}" if type_ else ""))
    return found


def _change(
    action: Literal["revoke", "suspend", "unsuspend"],
    state_dir: Path,
    credential_id: str | None,
    participant: str | None,
    type_: str | None,
    reason: str | None,
) -> None:
    registry = _registry(state_dir)
    now = dt.datetime.now(dt.UTC)
    selected = _selected(registry, credential_id, participant, type_)
    refused = 0
    for credential in selected:
        try:
            if action == "revoke":
                changed = registry.revoke(credential.id, now=now, reason=reason)
            elif action == "suspend":
                changed = registry.suspend(credential.id, now=now, reason=reason)
            else:
                changed = registry.unsuspend(credential.id)
        except StatusChangeError as exc:  # e.g. a revoked one among a participant's credentials: say so, go on
            err.print(f"[yellow]skipped:[/] {exc.message}", highlight=False)
            refused += 1
            continue
        out.print(
            f"{changed.id} ({changed.type} of {changed.subject}, {changed.role} status list index {changed.index}): "
            f"[bold]{changed.status}[/]",
            highlight=False,
        )
    if refused == len(selected):
        raise typer.Exit(1)


@app.command("revoke")
def revoke_command(
    credential_id: CredentialId = None,
    participant: Participant = None,
    type_: CredentialType = None,
    reason: Reason = None,
    state_dir: StateDir = Path(".gxc/trust"),
) -> None:
    """Revoke a credential (final): its bit is set in its issuer's revocation status list."""
    _change("revoke", state_dir, credential_id, participant, type_, reason)


@app.command("suspend")
def suspend_command(
    credential_id: CredentialId = None,
    participant: Participant = None,
    type_: CredentialType = None,
    reason: Reason = None,
    state_dir: StateDir = Path(".gxc/trust"),
) -> None:
    """Suspend a credential until `gxc trust unsuspend`: its bit is set in the suspension status list."""
    _change("suspend", state_dir, credential_id, participant, type_, reason)


@app.command("unsuspend")
def unsuspend_command(
    credential_id: CredentialId = None,
    participant: Participant = None,
    type_: CredentialType = None,
    state_dir: StateDir = Path(".gxc/trust"),
) -> None:
    """Lift a suspension: the credential's bit in the suspension status list is cleared."""
    _change("unsuspend", state_dir, credential_id, participant, type_, None)


@app.command("credentials")
def credentials_command(
    participant: Annotated[str | None, typer.Option("--participant", help="Only those issued to this DID.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateDir = Path(".gxc/trust"),
) -> None:
    """List the credentials this trust anchor issued, with their status."""
    found = _registry(state_dir).find(subject=participant)
    if as_json:
        out.print_json(json.dumps([c.as_dict() for c in found]))
        return
    table = Table(title=f"credentials issued by the trust anchor in {state_dir}")
    for column in ("id", "issuer", "type", "subject", "index", "issued", "status"):
        table.add_column(column, overflow="fold")
    for c in found:
        table.add_row(c.id, c.role, c.type, c.subject, str(c.index), c.issued_at.isoformat(), c.status)
    out.print(table)
