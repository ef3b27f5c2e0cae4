"""Revocation end to end (W3C Bitstring Status List v1.0): the development trust anchor revokes a consumer's
membership credential, and the provider (a) ends the running transfer under a membership-constrained agreement
with its policy monitor and (b) refuses the next negotiation, saying why. Real servers, real signatures; only the
connectors' clock is moved, past the status-list and claims caches."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from connector.services.usage.monitor import CLAIMS_RECHECK
from tests.fixtures.catalog.trust_anchor import DATASPACE, make_trust, running_trust
from tests.integration.connector.harness import Running, make_participant
from tests.integration.dataplane.flow import Clock, agree, contract, offer, running, start

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MEMBERSHIP = {
    "leftOperand": "https://w3id.org/gaia-x/connector/policy/membership",
    "operator": "isAnyOf",
    "rightOperand": DATASPACE,
}


async def wait_state(side: Running, transfer_id: str, state: str) -> dict[str, Any]:
    for _ in range(400):
        current = (await side.api.get(f"/transfers/{transfer_id}")).json()
        if current["state"] == state:
            return dict(current)
        await asyncio.sleep(0.05)
    raise AssertionError(f"transfer {transfer_id} never reached {state}: {current}")


async def test_a_revoked_membership_ends_the_transfer_and_is_refused_with_the_reason(tmp_path: Path) -> None:
    async with running_trust(make_trust(tmp_path)) as trust:
        federation = trust.trust.did("federation")
        pki, clock = trust.trust.pki, Clock()
        provider_dir = make_participant(tmp_path, "provider", pki, trusted_issuers=[federation])
        consumer_dir = make_participant(tmp_path, "consumer", pki)
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            issued = await trust.membership(consumer.did)
            r = await consumer.post("/credentials", {"credential": issued["credential"]})
            assert r.status_code == 201, r.text
            source = tmp_path / "d.csv"
            source.write_text("a,b\n1,2\n", encoding="utf-8")
            await offer(
                provider, "d", contract("urn:policy:members", MEMBERSHIP), {"kind": "file", "path": str(source)}
            )

            agreement_id = await agree(consumer, provider, "d")
            transfer = await start(consumer, agreement_id)
            assert transfer["state"] == "STARTED", transfer
            pulled = await consumer.api.get(f"/transfers/{transfer['id']}/data")  # proves its claims: a grant
            assert pulled.status_code == 200, pulled.text
            monitor = provider.app.state.usage.monitor
            assert await monitor.check() == []

            revoked = trust.cli("revoke", issued["id"], "--reason", "left the data space")
            assert revoked.exit_code == 0, revoked.output

            # (a) within CLAIMS_TTL: the monitor's next re-check fetches fresh claims and a fresh status list
            clock.offset += CLAIMS_RECHECK
            await monitor.check()  # (or its own loop did already)
            ended = await wait_state(consumer, transfer["id"], "TERMINATED")
            assert ended["error"]["code"] == "policy-violated", ended["error"]
            reason = ended["error"]["reason"]
            assert "membership" in reason
            assert "revoked by its issuer" in reason
            assert issued["id"] in reason
            records = (await provider.api.get("/ledger")).json()["items"]
            (record,) = [r for r in records if r["kind"] == "monitor"]
            assert record["data"]["action"] == "terminate"
            assert any("revoked" in w for w in record["data"]["withdrawn"])

            # (b) the next negotiation needing membership is refused, with the reason
            catalog = (await consumer.post("/catalog/request", {"counterPartyAddress": provider.base})).json()
            (dataset,) = [d for d in catalog["catalog"]["dataset"] if d["@id"] == "d"]
            offer_id = dataset["hasPolicy"][0]["@id"]
            r = await consumer.post(
                "/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20
            )
            assert r.status_code == 201, r.text
            refused = r.json()
            assert refused["state"] == "TERMINATED", refused
            assert refused["error"]["code"] == "policy-denied", refused["error"]
            assert "revoked by its issuer" in refused["error"]["reason"], refused["error"]
            mine = [
                n
                for n in (await provider.api.get("/negotiations", params={"limit": 50})).json()["items"]
                if n["consumerPid"] == refused["consumerPid"]
            ]
            assert any("revoked" in p for p in mine[0]["error"]["details"]["credential_problems"])

            # a transfer request on the old agreement is refused too
            again = await start(consumer, agreement_id)
            assert again["state"] == "TERMINATED", again
            assert again["error"]["code"] == "policy-denied", again["error"]
            assert "revoked" in again["error"]["reason"]

            # revocation is per credential: a membership issued again counts (the revoked one still does not)
            renewed = await trust.membership(consumer.did)
            r = await consumer.post("/credentials", {"credential": renewed["credential"]})
            assert r.status_code == 201, r.text
            r = await consumer.post(
                "/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20
            )
            assert r.json()["state"] == "FINALIZED", r.json()


async def test_a_status_list_outage_keeps_running_transfers_and_refuses_new_agreements(tmp_path: Path) -> None:
    """The issuer's status list server is down: the monitor decides with the claims seen last (an outage is not a
    revocation), while a new negotiation fails closed (the membership's status cannot be established)."""
    outage = contextlib.AsyncExitStack()
    trust = await outage.enter_async_context(running_trust(make_trust(tmp_path)))
    try:
        pki, clock = trust.trust.pki, Clock()
        provider_dir = make_participant(tmp_path, "provider", pki, trusted_issuers=[trust.trust.did("federation")])
        consumer_dir = make_participant(tmp_path, "consumer", pki)
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            issued = await trust.membership(consumer.did)
            assert (await consumer.post("/credentials", {"credential": issued["credential"]})).status_code == 201
            source = tmp_path / "d.csv"
            source.write_text("a\n", encoding="utf-8")
            await offer(
                provider, "d", contract("urn:policy:members", MEMBERSHIP), {"kind": "file", "path": str(source)}
            )
            agreement_id = await agree(consumer, provider, "d")
            transfer = await start(consumer, agreement_id)
            assert (await consumer.api.get(f"/transfers/{transfer['id']}/data")).status_code == 200

            await outage.aclose()  # the trust anchor (and its status lists) goes away
            clock.offset += CLAIMS_RECHECK
            monitor = provider.app.state.usage.monitor
            assert await monitor.check() == []
            assert (await consumer.api.get(f"/transfers/{transfer['id']}")).json()["state"] == "STARTED"

            r = await consumer.post("/transfers", {"agreementId": agreement_id}, wait=20)
            refused = r.json()
            assert refused["state"] == "TERMINATED", refused
            assert refused["error"]["code"] == "policy-denied", refused["error"]
    finally:
        await outage.aclose()
