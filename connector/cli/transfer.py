"""``gxc transfer AGREEMENT``: start a transfer under an agreement (DSP 2025-1 §transfer) as the consumer; pull
by default (prints the endpoint and token to fetch with), push with ``--push URL``."""

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
    error_text,
    fail,
    out,
    print_json,
)
from connector.cli.negotiate import TimeoutOption, WaitOption
from connector.cli.progress import follow

HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
ENDED = ("STARTED", "COMPLETED", "TERMINATED")


def transfer_command(
    agreement: Annotated[str, typer.Argument(help="Agreement id (gxc agreements).")],
    push: Annotated[str | None, typer.Option("--push", help="Push the data to this URL (else pull).")] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 60.0,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a transfer; with --wait, until it is STARTED (pull: prints endpoint and token) or ends."""
    if push is not None and not push.startswith(("http://", "https://")):
        fail(f"--push needs an http:// or https:// URL, not {push!r}", code=2)
    body: dict[str, Any] = {"agreementId": agreement, "format": "HttpData-PULL"}
    if push is not None:
        body = {
            "agreementId": agreement,
            "format": "HttpData-PUSH",
            "dataAddress": {"@type": "DataAddress", "endpointType": HTTP_ENDPOINT_TYPE, "endpoint": push},
        }
    with connect(config, state_dir, url, api_key) as api:
        try:
            t = api.call("POST", "/transfers", body)
            if wait:
                t = follow(api, "transfers", t, ENDED, timeout)
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(t)
    if t["state"] == "TERMINATED":
        fail(f"transfer {t['id']} was terminated: {error_text(t.get('error'))}")
    if as_json:
        return
    if wait and t["state"] not in ENDED:
        fail(f"transfer {t['id']} is still {t['state']} after {timeout:g} s")
    out.print(f"Transfer [bold]{t['id']}[/] is [green]{t['state']}[/]")
    address = t.get("dataAddress") or {}
    if push is None and address.get("endpoint"):
        props = {p.get("name"): p.get("value") for p in address.get("endpointProperties", [])}
        out.print(f"Endpoint: {address['endpoint']}")
        if props.get("authorization"):
            out.print(f"Token:    {props['authorization']}")
            out.print(f'Fetch:    curl -H "Authorization: Bearer $TOKEN" {address["endpoint"]}')
