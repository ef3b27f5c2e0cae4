"""``gxc asset add|list``: the datasets this connector offers (management API ``/assets``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connector.cli.management import (
    ApiKeyOption,
    CliError,
    ConfigOption,
    JsonOption,
    StateDirOption,
    UrlOption,
    connect,
    fail,
    out,
    print_json,
)

app = typer.Typer(help="Datasets this connector offers.", no_args_is_help=True)


@app.command("add")
def add_command(
    asset_id: Annotated[str, typer.Argument(metavar="ID", help="Dataset id (as shown in the DSP catalog).")],
    title: Annotated[str, typer.Option(help="Human title.")],
    file: Annotated[Path | None, typer.Option("--file", help="Serve this file (path on the connector's host).")] = None,
    http: Annotated[str | None, typer.Option("--http", help="Proxy this HTTP backend URL.")] = None,
    description: Annotated[str | None, typer.Option(help="Longer description.")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", "-k", help="Keyword (repeatable).")] = None,
    content_type: Annotated[str | None, typer.Option("--content-type", help="Media type, e.g. text/csv.")] = None,
    proxy_path: Annotated[bool, typer.Option(help="HTTP: let consumers append a sub-path.")] = False,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a dataset: a file on the connector's host (--file) or an HTTP backend (--http)."""
    if (file is None) == (http is None):
        fail("give exactly one of --file PATH or --http URL", code=2)
    address: dict[str, Any] = (
        {"kind": "file", "path": str(file.resolve())}
        if file is not None
        else {"kind": "http", "baseUrl": http, "proxyPath": proxy_path}
    )
    body = {
        "id": asset_id,
        "title": title,
        "description": description,
        "keywords": keyword or [],
        "contentType": content_type,
        "dataAddress": address,
    }
    with connect(config, state_dir, url, api_key) as api:
        try:
            created = api.call("POST", "/assets", body)
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(created)
    else:
        out.print(f"[green]Added[/] dataset [bold]{created['id']}[/] ({created['title']})")


@app.command("list")
def list_command(
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the datasets."""
    with connect(config, state_dir, url, api_key) as api:
        try:
            assets = api.items("/assets")
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(assets)
        return
    table = Table(title=f"{len(assets)} dataset(s)")
    for column in ("id", "title", "source", "keywords"):
        table.add_column(column)
    for a in assets:
        address = a["dataAddress"]
        source = address.get("path") or address.get("baseUrl") or ""
        table.add_row(a["id"], a["title"], f"{address['kind']}: {source}", ", ".join(a["keywords"]))
    out.print(table)
