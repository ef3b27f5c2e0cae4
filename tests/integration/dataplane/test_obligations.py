"""Duties through their life on two real connectors: inform webhooks, signed deletion attestations, a deadline that
passes unfulfilled (violated on both sides, consequences active), and the monitor re-checking the consumer's
credentials with its Credential Service (a membership credential that expires)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from typer.testing import CliRunner

from connector.cli.main import app
from connector.identity.wallet import HeldCredential
from self_descriptions.proofs.vc_jwt import sign_vc_jwt
from tests.integration.connector.harness import (
    NOW,
    Running,
    _serve,
    dataspace_pki,
    free_port,
    make_participant,
    running_issuer,
)
from tests.integration.dataplane.flow import Clock, agree, offer, running, start

pytestmark = pytest.mark.integration


async def records_of(side: Running, kind: str, count: int = 1) -> list[dict[str, Any]]:
    """The ledger records of ``kind``, once there are ``count`` (the provider finishes a use after the last byte
    left, so it may record a moment after the consumer has the data)."""
    for _ in range(200):
        items = [r for r in (await side.api.get("/ledger")).json()["items"] if r["kind"] == kind]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"{side.name} never recorded {count} {kind!r}: {items}")


def with_duties(
    uid: str, *, obligations: list[dict[str, Any]] = (), duties: list[dict[str, Any]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    policy: dict[str, Any] = {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "Set",
        "uid": uid,
        "permission": [{"action": "use", **({"duty": list(duties)} if duties else {})}],
    }
    if obligations:
        policy["obligation"] = list(obligations)
    return policy


async def test_inform_webhook_and_deletion_attestation(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "d.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    received: list[dict[str, Any]] = []
    hook = FastAPI()

    @hook.post("/hooks/usage")
    async def usage(request: Request) -> dict[str, str]:
        received.append(json.loads(await request.body()))
        return {"ok": "yes"}

    hook_port = free_port()
    server, task = await _serve(hook, hook_port)
    webhook = f"http://127.0.0.1:{hook_port}/hooks/usage"
    deadline = (NOW + dt.timedelta(days=7)).isoformat().replace("+00:00", "Z")
    policy = with_duties(
        "urn:policy:duties",
        obligations=[
            {
                "action": "inform",
                "constraint": [{"leftOperand": "recipient", "operator": "eq", "rightOperand": webhook}],
            }
        ],
        duties=[
            {
                "action": "delete",
                "constraint": [
                    {
                        "leftOperand": "dateTime",
                        "operator": "lt",
                        "rightOperand": {"@value": deadline, "@type": "xsd:dateTime"},
                    }
                ],
            }
        ],
    )
    try:
        provider_dir, consumer_dir = (
            make_participant(tmp_path, "provider", pki),
            make_participant(tmp_path, "consumer", pki),
        )
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            await offer(provider, "d", policy, {"kind": "file", "path": str(source)})
            agreement_id = await agree(consumer, provider, "d")
            transfer = await start(consumer, agreement_id)
            r = await consumer.api.get(f"/transfers/{transfer['id']}/data")
            assert r.status_code == 200, r.text
            # (a) inform: the webhook got the completed use, recorded and the duty fulfilled
            notified = await records_of(provider, "notified")
            assert [rec["data"]["target"] for rec in notified] == [webhook]
            (note,) = received
            assert note["type"] == "UsageNotification"
            assert note["agreementId"] == agreement_id
            assert note["bytes"] == len(b"a,b\n1,2\n")
            duties = (await provider.api.get("/obligations", params={"agreementId": agreement_id})).json()["items"]
            assert {d["action"]: d["state"] for d in duties}["inform"] == "fulfilled"
            assert {d["action"]: d["state"] for d in duties}["delete"] == "not-set"

            # (b) delete: the consumer attests, the provider verifies, stores and fulfils
            # ... with the gxc command (the management endpoint /transfers/{id}/data/deletion underneath)
            cli = ["transfer-deleted", transfer["id"], "--note", "wiped", "-d", str(consumer_dir), "--json"]
            ran = await asyncio.to_thread(CliRunner().invoke, app, cli)
            assert ran.exit_code == 0, ran.output
            attested = json.loads(ran.output)
            assert attested["delivery"]["delivered"] is True, attested
            assert attested["claims"]["digest"].startswith("sha-256=")
            records = (await provider.api.get("/ledger")).json()["items"]
            (stored,) = [rec for rec in records if rec["kind"] == "attestation"]
            assert stored["data"]["attestation"] == attested["attestation"]
            assert stored["data"]["claims"]["digest"] == attested["claims"]["digest"]
            duties = (await provider.api.get("/obligations", params={"agreementId": agreement_id})).json()["items"]
            assert {d["action"]: d["state"] for d in duties}["delete"] == "fulfilled"
            mine = (await consumer.api.get("/ledger")).json()["items"]
            assert [rec["data"]["delivered"] for rec in mine if rec["kind"] == "attestation-sent"] == [True]
            # a forged attestation (the consumer's claims, signed by the provider's key) is refused
            forged = attested["attestation"].split(".")
            forged[2] = forged[2][::-1]
            peers = consumer.app.state.connector.runtime.peers
            answer = await peers.send(
                "POST",
                provider.base + "/public/attestations/deletion",
                audience=provider.did,
                body={"attestation": ".".join(forged)},
            )
            assert answer.status == 400
            assert "does not verify" in answer.text
    finally:
        server.should_exit = True
        await task


async def test_deadline_passes_unfulfilled_violated_on_both_sides_with_consequences(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "v.csv"
    source.write_text("v\n", encoding="utf-8")
    deadline = (NOW + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    policy = with_duties(
        "urn:policy:violation",
        duties=[
            {
                "action": "delete",
                "constraint": [
                    {
                        "leftOperand": "dateTime",
                        "operator": "lt",
                        "rightOperand": {"@value": deadline, "@type": "xsd:dateTime"},
                    }
                ],
                "consequence": [{"action": "compensate"}],
            }
        ],
    )
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
        await offer(provider, "v", policy, {"kind": "file", "path": str(source)})
        agreement_id = await agree(consumer, provider, "v")
        await start(consumer, agreement_id)
        for side in (provider, consumer):
            await side.app.state.usage.monitor.check()
        clock.offset += dt.timedelta(hours=2)
        for side in (provider, consumer):
            await side.app.state.usage.monitor.check()
            duties = (await side.api.get("/obligations", params={"agreementId": agreement_id})).json()["items"]
            states = {d["action"]: d["state"] for d in duties}
            assert states["delete"] == "violated", (side.name, duties)
            assert states["compensate"] == "not-set", (side.name, duties)  # the consequence is now an active duty
            records = (await side.api.get("/ledger")).json()["items"]
            (violation,) = [r for r in records if r["kind"] == "duty" and r["data"]["state"] == "violated"]
            assert violation["data"]["action"] == "delete"
            assert violation["data"]["consequences"]
        # performing the consequence fulfils it, and with it the violated duty (IM §2.6.6)
        r = await consumer.post(f"/agreements/{agreement_id}/performed", {"action": "compensate"})
        assert r.status_code == 200, r.text
        await consumer.app.state.usage.monitor.check()
        duties = (await consumer.api.get("/obligations", params={"agreementId": agreement_id})).json()["items"]
        assert {d["action"]: d["state"] for d in duties} == {"delete": "fulfilled", "compensate": "fulfilled"}


MEMBERS = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:members",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "https://w3id.org/gaia-x/connector/policy/membership",
                    "operator": "isAnyOf",
                    "rightOperand": "urn:dataspace:test",
                }
            ],
        }
    ],
}


async def test_monitor_rechecks_claims_and_terminates_when_membership_expired(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "m.csv"
    source.write_text("m\n", encoding="utf-8")
    async with running_issuer(tmp_path, pki) as federation:
        provider_dir = make_participant(tmp_path, "provider", pki, trusted_issuers=[federation.identity.did])
        consumer_dir = make_participant(tmp_path, "consumer", pki)
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            issued = dt.datetime.now(dt.UTC)
            credential = {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"],
                "type": ["VerifiableCredential", "MembershipCredential"],
                "id": "urn:uuid:membership-short",
                "issuer": federation.identity.did,
                "validFrom": (issued - dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
                "validUntil": (issued + dt.timedelta(minutes=2)).isoformat().replace("+00:00", "Z"),
                "credentialSubject": {"id": consumer.did, "memberOf": "urn:dataspace:test"},
            }
            token = sign_vc_jwt(credential, federation.identity.key, kid=federation.identity.kid, issued_at=issued)
            consumer.app.state.connector.runtime.wallet.add(HeldCredential.from_token(token))
            await offer(provider, "m", MEMBERS, {"kind": "file", "path": str(source)})
            agreement_id = await agree(consumer, provider, "m")
            transfer = await start(consumer, agreement_id)
            r = await consumer.api.get(f"/transfers/{transfer['id']}/data")  # carries X-GXC-Identity: a grant
            assert r.status_code == 200, r.text
            monitor = provider.app.state.usage.monitor
            assert await monitor.check() == []
            # the credential expires (beyond the 60 s skew); the consumer's access token (5 min) still lets us ask
            clock.offset += dt.timedelta(minutes=3, seconds=30)
            (terminated,) = await monitor.check()
            records = (await provider.api.get("/ledger")).json()["items"]
            (ended,) = [rec for rec in records if rec["kind"] == "monitor"]
            assert ended["data"]["claims"] == "fetched"
            assert "membership" in ended["data"]["reason"]
            mine = (await provider.api.get(f"/transfers/{terminated}")).json()
            assert mine["error"]["code"] == "policy-violated"
