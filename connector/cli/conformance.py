"""``gxc conformance PEER_URL``: protocol-level checks against any DSP 2025-1 peer, printed as a table (or
``--json``), so operators can see why two connectors do not talk. Exit 1 when a check fails.

The probes (:mod:`connector.services.conformance`) run here, signed with the participant's key from its state
folder; the negotiation check (request -> agreement or termination) goes through the participant's running
connector (its management API), so the peer's answers arrive at our callbacks as in real use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
    config_file,
    connect,
    error_text,
    fail,
    out,
    print_json,
)
from connector.cli.progress import follow
from connector.errors import ConnectorError
from connector.identity.participant import load_identity
from connector.peer.client import PeerClient
from connector.peer.egress import EgressPolicy, GuardedClient
from connector.peer.http import http_client
from connector.services.conformance import Check, ConformanceProbe, Findings, Status
from connector.settings import ConnectorSettings, load_settings

SPEC_NEGOTIATION = "negotiation §state machine: request -> agreement or termination"
#: Terminations that are a peer's legitimate decision, not a protocol fault.
DECISIONS = ("policy-denied", "terminated-by-peer", "terminated-by-operator")
STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


async def _probe(settings: ConnectorSettings, peer_url: str, peer_id: str | None) -> tuple[list[Check], Findings]:
    identity = load_identity(settings, now=dt.datetime.now(dt.UTC))
    http = http_client()
    policy = EgressPolicy.from_strings(
        allow_private=settings.egress_allow_private, networks=settings.egress_allowed_networks
    )
    guarded = GuardedClient(http, policy)
    try:
        peers = PeerClient(identity, guarded, clock=lambda: dt.datetime.now(dt.UTC))
        probe = ConformanceProbe(peers, peer_url, peer_id=peer_id)
        return await probe.run(), probe.findings
    finally:
        await guarded.aclose()
        await http.aclose()


def _negotiation(n: dict[str, Any]) -> Check:
    if n["state"] == "FINALIZED":
        return Check("negotiation", "negotiation", "pass", f"FINALIZED, agreement {n['agreementId']}", SPEC_NEGOTIATION)
    error = n.get("error") or {}
    if n["state"] == "TERMINATED":
        status: Status = "warn" if error.get("code") in DECISIONS else "fail"
        return Check("negotiation", "negotiation", status, f"TERMINATED: {error_text(error)}", SPEC_NEGOTIATION)
    return Check(
        "negotiation",
        "negotiation",
        "fail",
        f"stuck in {n['state']}: the peer did not answer in time",
        SPEC_NEGOTIATION,
    )


def conformance_command(
    peer_url: Annotated[str, typer.Argument(help="The peer's root URL (where /.well-known/dspace-version lives).")],
    peer_id: Annotated[str | None, typer.Option("--peer-id", help="The peer's DID (default: from its URL).")] = None,
    negotiate: Annotated[
        bool, typer.Option("--negotiate/--no-negotiate", help="Negotiate the peer's first offer (needs our connector).")
    ] = True,
    timeout: Annotated[float, typer.Option("--timeout", min=0, help="Seconds to wait for the negotiation.")] = 30.0,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a peer against DSP 2025-1: version endpoint, catalog and dataset schemas, status codes, a negotiation."""
    file = config_file(config, state_dir)
    if file is None:
        fail("the checks sign requests as a participant: pass --state-dir or --config", code=2)
    try:
        settings = load_settings(file)
        checks, findings = asyncio.run(_probe(settings, peer_url, peer_id))
    except ConnectorError as exc:
        fail(exc.message)
    if negotiate and findings.offer_id is not None:
        with connect(config, state_dir, url, api_key) as api:
            try:
                body = {"counterPartyAddress": peer_url, "counterPartyId": peer_id, "offerId": findings.offer_id}
                n = follow(
                    api, "negotiations", api.call("POST", "/negotiations", body), ("FINALIZED", "TERMINATED"), timeout
                )
                checks.append(_negotiation(n))
            except CliError as exc:
                checks.append(Check("negotiation", "negotiation", "fail", str(exc), SPEC_NEGOTIATION))
    elif negotiate:
        checks.append(Check("negotiation", "negotiation", "skip", "no offer to negotiate", SPEC_NEGOTIATION))
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        print_json(
            {"peer": peer_url, "dspBase": findings.dsp_base, "ok": not failed, "checks": [c.to_json() for c in checks]}
        )
    else:
        table = Table(title=f"DSP 2025-1 conformance of {peer_url}")
        for column in ("check", "result", "detail", "spec"):
            table.add_column(column, overflow="fold")
        for c in checks:
            table.add_row(c.title, f"[{STYLE[c.status]}]{c.status}[/]", c.detail, c.spec)
        out.print(table)
        out.print(f"{len(checks) - len(failed)} of {len(checks)} checks without deviation")
    if failed:
        raise typer.Exit(1)
