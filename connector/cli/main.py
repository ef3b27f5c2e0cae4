"""The ``gxc`` command line (typer + rich).

Sub-command groups from packages that ``connector`` must not import (the federated catalogue, ARCHITECTURE.md §3
rule 4) plug in through the ``gxc.commands`` entry-point group: each entry names a ``typer.Typer``.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging.config
import socket
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from connector import __version__
from connector.cli import assets, conformance, discover, negotiate, offers, peer, policy, sd, sd_publish, tck, transfer
from connector.cli.ledger import app as ledger_app
from connector.cli.transfer_delete import deleted_command as transfer_deleted_command
from connector.cli.transfer_pull import pull as transfer_pull_command
from connector.errors import ConnectorError
from connector.identity.participant import init_participant
from connector.logs import logging_config
from connector.settings import CONFIG_FILE_NAME, ConnectorSettings, load_settings
from self_descriptions.certificates import load_development_pki
from self_descriptions.errors import SelfDescriptionError

#: The longest a stop waits for requests in flight before the server closes them (see _serve).
GRACEFUL_SHUTDOWN_SECONDS = 5

console = Console(stderr=True, soft_wrap=True)
out = Console()

app = typer.Typer(
    name="gxc",
    help="Gaia-X data-space connector: self-descriptions, ODRL policies, Dataspace Protocol 2025-1, catalogue.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
connector_app = typer.Typer(help="Run and inspect a connector.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")
app.add_typer(policy.app, name="policy")
app.add_typer(sd.app, name="sd")
sd.app.command("publish")(sd_publish.publish_command)
app.command("discover")(discover.discover_command)
app.add_typer(assets.app, name="asset")
app.add_typer(offers.app, name="offer")
app.add_typer(peer.app, name="peer")
app.command("negotiate")(negotiate.negotiate_command)
app.command("agreements")(negotiate.agreements_command)
app.command("transfer")(transfer.transfer_command)
app.command("transfer-pull")(transfer_pull_command)
app.command("transfer-deleted")(transfer_deleted_command)
app.add_typer(ledger_app, name="ledger")
connector_app.command("tck-properties")(tck.properties_command)
app.command("conformance")(conformance.conformance_command)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"gxc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Gaia-X data-space connector."""


StateDir = Annotated[
    Path, typer.Option("--state-dir", "-d", help="Participant state folder (keys, database, gxc.toml).")
]


@app.command("init")
def init_command(
    state_dir: StateDir = Path(".gxc/connector"),
    name: Annotated[str, typer.Option("--name", help="Legal name of the participant.")] = "Example Participant",
    host: Annotated[str, typer.Option(help="Address the connector will listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the connector will listen on.")] = 8181,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL peers use (defines the did:web); default http://HOST:PORT.")
    ] = None,
    alg: Annotated[str, typer.Option(help="Key algorithm: ES256, PS256, RS256 or EdDSA.")] = "ES256",
    force: Annotated[bool, typer.Option(help="Replace an existing identity in STATE_DIR.")] = False,
    ca_dir: Annotated[
        Path | None,
        typer.Option("--ca-dir", help="A data space CA folder (gxc trust init makes one) to issue the certificate."),
    ] = None,
) -> None:
    """Create a participant state folder: signing key, development certificate chain and a commented gxc.toml."""
    if alg not in ("ES256", "PS256", "RS256", "EdDSA"):
        _fail(f"unsupported --alg {alg!r}; choose ES256, PS256, RS256 or EdDSA", code=2)
    try:
        pki = load_development_pki(ca_dir) if ca_dir is not None else None
    except SelfDescriptionError as exc:
        _fail(exc.message)
    try:
        config = init_participant(
            state_dir,
            participant_name=name,
            host=host,
            port=port,
            public_url=public_url,
            alg=alg,  # type: ignore[arg-type]  # checked above
            now=dt.datetime.now(dt.UTC),
            force=force,
            pki=pki,
        )
    except ConnectorError as exc:
        _fail(exc.message)
    out.print(f"[green]Created[/] participant state in [bold]{state_dir}[/] (config: {config})")
    out.print(f"Start it with: [bold]gxc connector serve --config {config}[/]")


@connector_app.command("serve")
def serve_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help=f"Config file (default: STATE_DIR/{CONFIG_FILE_NAME})."),
    ] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", "-d", help="Participant state folder.")] = None,
    host: Annotated[str | None, typer.Option(help="Override the listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Override the listen port (0 picks a free one).")] = None,
    tck_mode: Annotated[
        bool, typer.Option("--tck", help="TCK mode: seeds and scripted behaviour for the DSP TCK (docs/tck.md).")
    ] = False,
) -> None:
    """Run a connector until Ctrl-C, printing its URLs."""
    # TCK mode talks to the TCK on this machine, hence loopback egress.
    extra = {"tck": True, "egress_allow_private": True} if tck_mode else {}
    settings = _settings(config, state_dir, host=host, port=port, **extra)
    _serve(settings)


@app.command("demo")
def demo_command(
    state_dir: StateDir = Path(".gxc/demo"),
    keep: Annotated[bool, typer.Option("--keep", help="Leave the data space running until Ctrl-C.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (documented shape).")] = False,
    database_url_template: Annotated[
        str | None,
        typer.Option(
            "--database-url-template",
            help="Use these databases instead of SQLite, e.g. postgresql://postgres@127.0.0.1/demo_{component} "
            "({component}: provider, consumer, catalog; the databases must exist).",
        ),
    ] = None,
) -> None:
    """Run a whole data space on this machine and walk the scenario step by step (exit 1 if a step fails)."""
    from connector.cli.demo_runner import run_demo  # imported on use: keeps `gxc --help` fast

    ok = run_demo(state_dir, keep=keep, as_json=as_json, console=out, database_url_template=database_url_template)
    raise typer.Exit(0 if ok else 1)


def _settings(config: Path | None, state_dir: Path | None, **overrides: object) -> ConnectorSettings:
    if config is None and state_dir is not None:
        config = state_dir / CONFIG_FILE_NAME
    if config is None and Path(CONFIG_FILE_NAME).exists():
        config = Path(CONFIG_FILE_NAME)
    if config is None:
        default = Path(".gxc/connector") / CONFIG_FILE_NAME
        if not default.exists():
            _fail(f"no configuration found: pass --config FILE, or create {default} with `gxc init`")
        config = default
    try:
        return load_settings(config, **overrides)
    except ConnectorError as exc:
        _fail(exc.message)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {port} on {host} is already in use; stop the other process or choose another with --port")
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve(settings: ConnectorSettings) -> None:
    # The app and the server are imported on use: every other command starts in a fraction of the time.
    import uvicorn

    from connector.app import create_app
    from connector.cli.malloc import limit_arenas

    limit_arenas()  # before any thread starts (see the module)
    sock = _bind(settings.host, settings.port)
    bound_port = sock.getsockname()[1]
    if bound_port != settings.port:
        settings = settings.model_copy(update={"port": bound_port})
    log_config = logging_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(log_config)
    try:
        application = create_app(settings)
    except ConnectorError as exc:
        sock.close()
        _fail(exc.message)
    identity = application.state.identity
    _print_urls(settings, identity.did)
    server = uvicorn.Server(
        # ws="none": the connector has no WebSocket routes, so uvicorn need not load a WebSocket implementation.
        # A stop (SIGINT/SIGTERM) waits at most GRACEFUL_SHUTDOWN_SECONDS for requests in flight: management calls
        # with ?wait= may otherwise hold it for their whole wait, and every outbound message is in the outbox anyway.
        uvicorn.Config(
            application,
            log_config=log_config,
            access_log=False,
            lifespan="on",
            server_header=False,
            ws="none",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    )
    server.run(sockets=[sock])


def _print_urls(settings: ConnectorSettings, did: str) -> None:
    base = settings.base_url
    table = Table(title=f"gxc connector {__version__} - {settings.participant_name}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("DID", did)
    table.add_row("DID document", f"{base}/.well-known/did.json")
    table.add_row("DSP version", f"{base}/.well-known/dspace-version")
    table.add_row("OpenAPI docs", f"{base}/docs")
    table.add_row("Health", f"{base}/health")
    table.add_row("State folder", str(settings.state_dir))
    out.print(table)
    out.print("Press Ctrl-C to stop.")


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _load_plugins() -> None:
    for ep in entry_points(group="gxc.commands"):
        app.add_typer(ep.load(), name=ep.name)


def main() -> None:
    """Console-script entry point."""
    _load_plugins()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
