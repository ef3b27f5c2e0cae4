"""``gxc negotiate PEER OFFER`` and ``gxc agreements``: contract negotiation as a consumer (DSP 2025-1
§negotiation), driven through the management API; a failure is shown with its reason in words."""

from __future__ import annotations

from typing import Annotated

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
    error_text,
    fail,
    out,
    print_json,
)
from connector.cli.progress import follow

TERMINAL = ("FINALIZED", "TERMINATED")

WaitOption = Annotated[bool, typer.Option("--wait", "-w", help="Wait until the process ends (or --timeout).")]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=0, help="Seconds to wait with --wait.")]


def negotiate_command(
    peer: Annotated[str, typer.Argument(help="The provider's base URL (or its DSP base URL).")],
    offer: Annotated[str, typer.Argument(help="Offer id from the provider's catalog (gxc peer catalog PEER).")],
    peer_id: Annotated[str | None, typer.Option("--peer-id", help="The provider's DID, if known.")] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 60.0,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Negotiate an offer; with --wait, until FINALIZED (prints the agreement) or TERMINATED (prints why)."""
    with connect(config, state_dir, url, api_key) as api:
        try:
            n = api.call(
                "POST", "/negotiations", {"counterPartyAddress": peer, "counterPartyId": peer_id, "offerId": offer}
            )
            if wait:
                n = follow(api, "negotiations", n, TERMINAL, timeout)
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(n)
    if n["state"] == "TERMINATED":
        fail(f"negotiation {n['id']} was terminated: {error_text(n.get('error'))}")
    if as_json:
        return
    if n["state"] == "FINALIZED":
        out.print(f"[green]FINALIZED[/]: agreement [bold]{n['agreementId']}[/] for dataset {n['assetId']}")
        out.print(f"Transfer with: gxc transfer {n['agreementId']} --wait")
    elif wait:
        fail(f"negotiation {n['id']} is still {n['state']} after {timeout:g} s")
    else:
        out.print(f"Negotiation [bold]{n['id']}[/] is {n['state']}")


def agreements_command(
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
    not_final: Annotated[
        bool,
        typer.Option(
            "--not-final",
            help="List the agreements whose negotiation has not finalized instead: still AGREED or VERIFIED, or "
            "terminated before FINALIZED (void).",
        ),
    ] = False,
) -> None:
    """List the contract agreements in force (their negotiation FINALIZED), as provider and as consumer."""
    with connect(config, state_dir, url, api_key) as api:
        try:
            agreements = api.items("/agreements", inForce=not not_final)
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(agreements)
        return
    table = Table(title=f"{len(agreements)} agreement(s){' not final' if not_final else ''}")
    for column in ("agreement", "dataset", "provider", "consumer", "signed"):
        table.add_column(column, overflow="fold")
    for a in agreements:
        table.add_row(a["id"], a["assetId"], a["providerId"], a["consumerId"], a["signedAt"])
    out.print(table)
