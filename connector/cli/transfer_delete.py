"""``gxc transfer-deleted TRANSFER``: as the consumer, record that a transfer's data was deleted (issue 6 §5).

The connector records the deletion (a push transfer's received file is removed), signs a deletion attestation
(JWS over agreement, transfer, the received data's digest and the time) and sends it to the provider, whose
``delete`` duties it fulfils (``connector.services.usage.deletion``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

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


def deleted_command(
    transfer: Annotated[str, typer.Argument(help="Transfer id (consumer side, gxc transfer).")],
    note: Annotated[str | None, typer.Option("--note", help="How or where the data was deleted.")] = None,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attest the deletion of a transfer's data to its provider (signed, recorded in both ledgers)."""
    with connect(config, state_dir, url, api_key) as api:
        try:
            result: dict[str, Any] = api.call("POST", f"/transfers/{transfer}/data/deletion", {"note": note})
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    delivery = result.get("delivery") or {}
    out.print(f"Deletion of transfer [bold]{transfer}[/] recorded (digest {result['claims'].get('digest')})")
    if delivery.get("delivered"):
        out.print(f"[green]Attestation accepted by the provider[/] ({delivery.get('url')})")
    else:
        fail(f"the provider did not accept the attestation: {delivery.get('reason') or delivery.get('status')}")
