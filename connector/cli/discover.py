"""``gxc discover QUERY [--catalog URL]``: search a federated catalogue for datasets and offers.

Calls the catalogue's public discovery API (``GET {catalog}/api/v1/datasets?q=QUERY&provider=&type=&format=
&purpose=&limit=``; no API key) and prints a table, or the JSON answer with ``--json``. The catalogue URL comes from
``--catalog`` or ``GXC_CATALOG_URL``. Register with ``app.command("discover")(discover.discover_command)``.
"""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True, soft_wrap=True)
out = Console()


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def discover_command(
    query: Annotated[str, typer.Argument(help="Keywords (all must match).")] = "",
    catalog: Annotated[str, typer.Option("--catalog", envvar="GXC_CATALOG_URL", help="Catalogue base URL.")] = (
        "http://127.0.0.1:8282"
    ),
    provider: Annotated[list[str] | None, typer.Option(help="Participant DID (repeatable).")] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="ServiceOffering, VirtualResource, Dataset.")
    ] = None,
    format_: Annotated[list[str] | None, typer.Option("--format", help="Distribution format.")] = None,
    purpose: Annotated[list[str] | None, typer.Option(help="ODRL purpose value.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue's JSON answer.")] = False,
) -> None:
    """Search a federated catalogue for datasets and offers of admitted participants."""
    params: list[tuple[str, str | int | float | bool | None]] = [("q", query), ("limit", limit)]
    params += [("provider", p) for p in provider or []]
    params += [("type", t) for t in type_ or []]
    params += [("format", f) for f in format_ or []]
    params += [("purpose", p) for p in purpose or []]
    try:
        response = httpx.get(catalog.rstrip("/") + "/api/v1/datasets", params=params, timeout=30.0)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the catalogue at {catalog}: {exc}")
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        _fail(f"the catalogue answered HTTP {response.status_code}: {detail}")
    data = response.json()
    if as_json:
        out.print_json(json.dumps(data))
        return
    table = Table("title", "provider", "type", "keywords", "purposes", "id", title=f"{data['total']} result(s)")
    for item in data["items"]:
        table.add_row(
            item.get("title") or "-",
            item.get("providerName") or item.get("participant", ""),
            ", ".join(item.get("type", [])),
            ", ".join(item.get("keywords", [])),
            ", ".join(item.get("purposes", [])),
            item.get("id", ""),
        )
    out.print(table)


app = typer.Typer(help="Search federated catalogues.")
app.command("discover")(discover_command)
