"""``gxc peer catalog PEER``: what a peer offers us, fetched over DSP by our connector (management API
``/catalog/request``; the version is discovered through the peer's ``/.well-known/dspace-version``)."""

from __future__ import annotations

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

app = typer.Typer(help="Talk to other connectors (peers) through this connector.", no_args_is_help=True)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rules(offer: dict[str, Any]) -> str:
    parts = []
    for rule in _as_list(offer.get("permission")):
        constraints = _as_list(rule.get("constraint"))
        text = str(rule.get("action", "?"))
        if constraints:
            text += " if " + " and ".join(
                f"{c.get('leftOperand')} {c.get('operator')} {c.get('rightOperand')}" for c in constraints
            )
        parts.append(text)
    for rule in _as_list(offer.get("prohibition")):
        parts.append(f"not {rule.get('action', '?')}")
    return "; ".join(parts) or "-"


@app.command("catalog")
def catalog_command(
    peer: Annotated[str, typer.Argument(help="The peer's base URL (or its DSP base URL).")],
    peer_id: Annotated[str | None, typer.Option("--peer-id", help="The peer's DID, if known.")] = None,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the datasets and offers a peer's catalog holds for us (offer ids are what `gxc negotiate` takes)."""
    with connect(config, state_dir, url, api_key) as api:
        try:
            answer = api.call("POST", "/catalog/request", {"counterPartyAddress": peer, "counterPartyId": peer_id})
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(answer)
        return
    catalog = answer["catalog"]
    datasets = _as_list(catalog.get("dataset"))
    table = Table(title=f"{answer['participantId']} ({answer['dspBase']}): {len(datasets)} dataset(s)")
    for column in ("dataset", "title", "offer id", "terms"):
        table.add_column(column, overflow="fold")
    for d in datasets:
        offers = _as_list(d.get("hasPolicy"))
        title = str(d.get("title") or d.get("dct:title") or "")
        if not offers:
            table.add_row(str(d.get("@id")), title, "-", "-")
        for i, offer in enumerate(offers):
            table.add_row(str(d.get("@id")) if i == 0 else "", title if i == 0 else "", offer.get("@id"), _rules(offer))
    out.print(table)
