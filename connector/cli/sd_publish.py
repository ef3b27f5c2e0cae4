"""``gxc sd publish``: build the self-description from what the connector offers, certify and publish it."""

from __future__ import annotations

import json

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
)


def publish_command(
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build, sign, certify (notary, compliance service) and submit the self-description to the catalogues.

    The running connector does the work (its datasets and offers are the source); exit 1 when a catalogue did not
    admit it, with the failed checks.
    """
    with connect(config, state_dir, url, api_key) as api:
        try:
            result = api.call("POST", "/self-description/publish")
        except CliError as exc:
            fail(str(exc))
    if as_json:
        out.print_json(json.dumps(result))
    table = Table(title="self-description", show_header=True)
    table.add_column("catalogue")
    table.add_column("status")
    table.add_column("failed checks", overflow="fold")
    admitted = True
    for catalog, answer in (result.get("catalogs") or {}).items():
        status = str(answer.get("status") or answer.get("title") or answer.get("httpStatus"))
        failed = [c.get("message", "") for c in answer.get("checks", []) if not c.get("passed", True)]
        admitted = admitted and status in ("admitted", "pending")
        table.add_row(catalog, status, "; ".join(failed) or "-")
    if not as_json:
        out.print(f"{len(result.get('credentials', []))} credentials signed and certified")
        out.print(table)
    if not admitted:
        fail("a catalogue did not admit the self-description (see the failed checks)")
