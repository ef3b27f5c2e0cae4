"""``gxc catalog``: init, serve, and the operator commands (loaded through the ``gxc.commands`` entry point).

* ``gxc catalog init [-d DIR]``: state folder (did:web key, dev PKI, commented ``catalog.toml``).
* ``gxc catalog serve [-c FILE]``: run the catalogue (SQLite by default, PostgreSQL with ``database_url``).
* ``gxc catalog list [--status S] | admit DID | reject DID [--reason] | revoke DID [--reason] | report DID [--json]
  | reverify | crawl [DID] | sync``: over the catalogue's HTTP operator API with the first ``operator_api_keys``
  entry of the config (or ``--url``/``--api-key``, env ``GXC_CATALOG_URL``/``GXC_CATALOG_API_KEY``). HTTP, not the
  store directly: the running catalogue must update its index and tell its peers, and SQLite allows one writer.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import socket
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import httpx
import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from catalog.errors import CatalogueError
from catalog.settings import CONFIG_FILE_NAME, CatalogueSettings, load_settings
from catalog.state import init_catalogue

console = Console(stderr=True, soft_wrap=True)
out = Console()
app = typer.Typer(help="The federated catalogue of trusted participants.", no_args_is_help=True)

DEFAULT_DIR = Path(".gxc/catalog")
Config = Annotated[
    Path | None, typer.Option("--config", "-c", help=f"Config file (default .gxc/catalog/{CONFIG_FILE_NAME}).")
]
Url = Annotated[str | None, typer.Option("--url", envvar="GXC_CATALOG_URL", help="Catalogue base URL.")]
ApiKey = Annotated[str | None, typer.Option("--api-key", envvar="GXC_CATALOG_API_KEY", help="Operator API key.")]


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _settings(config: Path | None, **overrides: Any) -> CatalogueSettings:
    path = config or DEFAULT_DIR / CONFIG_FILE_NAME
    if config is None and not path.exists():
        _fail(f"no configuration found: pass --config FILE, or create {path} with `gxc catalog init`")
    try:
        return load_settings(path, **overrides)
    except CatalogueError as exc:
        _fail(exc.message)


@app.command("init")
def init_command(
    state_dir: Annotated[Path, typer.Option("--state-dir", "-d")] = DEFAULT_DIR,
    name: Annotated[str, typer.Option(help="Name of the catalogue.")] = "Example Federation Catalogue",
    host: str = "127.0.0.1",
    port: int = 8282,
    public_url: Annotated[str | None, typer.Option(help="Base URL others use (defines the did:web).")] = None,
    force: bool = False,
) -> None:
    """Create a catalogue state folder: signing key, development certificate chain and a commented catalog.toml."""
    try:
        config = init_catalogue(
            state_dir,
            name=name,
            host=host,
            port=port,
            public_url=public_url,
            alg="ES256",
            now=dt.datetime.now(dt.UTC),
            force=force,
        )
    except CatalogueError as exc:
        _fail(exc.message)
    out.print(f"[green]Created[/] catalogue state in [bold]{state_dir}[/] (config: {config})")
    out.print(
        f"Add your federation's trust anchors and notaries to it, then: [bold]gxc catalog serve --config {config}[/]"
    )


@app.command("serve")
def serve_command(
    config: Config = None,
    host: Annotated[str | None, typer.Option(help="Override the listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Override the listen port.")] = None,
) -> None:
    """Run the catalogue until Ctrl-C."""
    from catalog.api import create_catalog_app  # heavy imports only when serving

    settings = _settings(config, host=host, port=port)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {settings.port} on {settings.host} is already in use; choose another with --port")
        _fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}")
    sock.listen(2048)
    try:
        application = create_catalog_app(settings)
    except CatalogueError as exc:
        sock.close()
        _fail(exc.message)
    logging.basicConfig(level=settings.log_level.upper())
    table = Table(title=f"gxc catalogue - {settings.name}", show_header=False)
    table.add_row("DID", application.state.identity.did)
    table.add_row("Admission", f"{settings.base_url}/api/v1/self-descriptions")
    table.add_row("Search", f"{settings.base_url}/api/v1/datasets?q=")
    table.add_row("SPARQL", f"{settings.base_url}/api/v1/sparql")
    table.add_row("OpenAPI docs", f"{settings.base_url}/docs")
    if not settings.trust_anchor_files or not settings.trusted_notaries:
        table.add_row("[yellow]warning[/]", "no trust anchors or notaries configured: nothing can be admitted")
    out.print(table)
    uvicorn.Server(uvicorn.Config(application, lifespan="on", server_header=False, log_level=settings.log_level)).run(
        sockets=[sock]
    )


def _client(config: Path | None, url: str | None, api_key: str | None) -> httpx.Client:
    if url is None or api_key is None:
        settings = _settings(config)
        url = url or settings.base_url
        keys = settings.api_key_values()
        api_key = api_key or (keys[0] if keys else None)
    if not api_key:
        _fail("no operator API key: set operator_api_keys in the config or pass --api-key")
    return httpx.Client(base_url=url.rstrip("/") + "/api/v1/admin", headers={"X-Api-Key": api_key}, timeout=120.0)


def _call(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the catalogue at {client.base_url}: {exc}")
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail", response.text)
            for check in problem.get("checks", [])[:10]:
                detail += f"\n  - {check.get('name')}: {check.get('message')}"
        except ValueError:
            detail = response.text
        _fail(f"HTTP {response.status_code}: {detail}")
    return response.json() if "json" in response.headers.get("content-type", "") else response.text


def _did(did: str) -> str:
    return quote(did, safe="")


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="pending, admitted, rejected, revoked, expired")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: Config = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Participants with status and reason."""
    with _client(config, url, api_key) as client:
        data = _call(client, "GET", "/participants" + (f"?status={status}" if status else ""))
    if as_json:
        out.print_json(json.dumps(data))
        return
    table = Table("participant", "status", "version", "expires", "origin", "reason")
    for p in data["items"]:
        table.add_row(
            p["participant"], p["status"], str(p["version"]), p["expiresAt"] or "-", p["origin"], p["reason"] or ""
        )
    out.print(table)


@app.command("admit")
def admit_command(participant: str, config: Config = None, url: Url = None, api_key: ApiKey = None) -> None:
    """Admit a pending participant (its presentation is verified again first)."""
    with _client(config, url, api_key) as client:
        data = _call(client, "POST", f"/participants/{_did(participant)}/admit")
    out.print(f"{data['participant']}: {data['status']}")


@app.command("reject")
def reject_command(
    participant: str,
    reason: str = "rejected by the operator",
    config: Config = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Reject a participant (hidden from discovery at once)."""
    with _client(config, url, api_key) as client:
        data = _call(client, "POST", f"/participants/{_did(participant)}/reject", {"reason": reason})
    out.print(f"{data['participant']}: {data['status']} ({data['reason']})")


@app.command("revoke")
def revoke_command(
    participant: str,
    reason: str = "revoked by the operator",
    config: Config = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Revoke a participant (hidden at once; peer catalogues are told through the feed)."""
    with _client(config, url, api_key) as client:
        data = _call(client, "POST", f"/participants/{_did(participant)}/revoke", {"reason": reason})
    out.print(f"{data['participant']}: {data['status']} ({data['reason']})")


@app.command("report")
def report_command(
    participant: str,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: Config = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """The compliance report of a participant: checks, anchors, shapes version, verification history."""
    with _client(config, url, api_key) as client:
        data = _call(client, "GET", f"/participants/{_did(participant)}/report?format={'json' if as_json else 'text'}")
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(data, highlight=False, markup=False)


@app.command("reverify")
def reverify_command(config: Config = None, url: Url = None, api_key: ApiKey = None) -> None:
    """Re-verify every stored presentation now."""
    with _client(config, url, api_key) as client:
        out.print_json(json.dumps(_call(client, "POST", "/reverify")))


@app.command("crawl")
def crawl_command(
    participant: Annotated[str | None, typer.Argument()] = None,
    config: Config = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Crawl one member's (or every member's) DSP catalog now."""
    with _client(config, url, api_key) as client:
        path = f"/participants/{_did(participant)}/crawl" if participant else "/crawl"
        out.print_json(json.dumps(_call(client, "POST", path)))


@app.command("sync")
def sync_command(config: Config = None, url: Url = None, api_key: ApiKey = None) -> None:
    """Pull every peer catalogue's change feed now."""
    with _client(config, url, api_key) as client:
        out.print_json(json.dumps(_call(client, "POST", "/federation/sync")))
