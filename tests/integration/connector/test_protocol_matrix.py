"""The protocol test matrix between real connectors on 127.0.0.1 (DSP 2025-1 §negotiation and §transfer state
machines, HTTPS binding status codes), with a third participant for the negative identity cases.

Negotiation: counter-offers from both sides, accept, manual approval (``auto_agree = false``), terminations from
each side in each state where the spec allows them. Transfer: start, suspend/resume by either side, complete and
terminate by either side. Negative: 400 + the DSP error body for invalid transitions, schema violations and
unknown offers; 404 for unknown or unauthorized callers (wrong audience, expired token, replayed jti, unknown DID,
another participant's process), with the reason in the receiver's log and, for the initiator, in the management API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.identity.tokens import issue_token
from tests.integration.connector.harness import Running, dataspace_pki, make_participant, running
from tests.integration.connector.test_negotiation_flow import OPEN, offer, offer_id_of

pytestmark = pytest.mark.integration

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
OTHER = {
    **OPEN,
    "uid": "urn:policy:other",
    "permission": [
        {"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}]}
    ],
}


def behave(conn: Running, **changes: Any) -> None:
    runtime = conn.app.state.connector.runtime
    runtime.behaviour = dataclasses.replace(runtime.behaviour, **changes)


@dataclasses.dataclass
class Pair:
    provider: Running
    consumer: Running
    offer_id: str

    @property
    def dsp(self) -> str:
        return self.provider.base + "/dsp/2025-1"


@contextlib.asynccontextmanager
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    pki = dataspace_pki()
    async with (
        running(make_participant(tmp_path, "provider", pki)) as provider,
        running(make_participant(tmp_path, "consumer", pki)) as consumer,
    ):
        await offer(provider, tmp_path, "weather", OPEN)
        yield Pair(provider, consumer, await offer_id_of(consumer, provider, "weather"))


async def state_of(conn: Running, kind: str, process_id: str) -> dict[str, Any]:
    r = await conn.api.get(f"/{kind}/{process_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def until(
    conn: Running, kind: str, process_id: str, state: str, *, pending: bool | None = None
) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for _ in range(200):
        seen = await state_of(conn, kind, process_id)
        if seen["state"] == state and (pending is None or seen["pending"] is pending):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"{conn.name} {kind} {process_id}: {seen.get('state')} (pending={seen.get('pending')}), "
        f"expected {state}; {seen.get('error')}"
    )


async def counterpart(conn: Running, kind: str, process: dict[str, Any]) -> dict[str, Any]:
    """The other side's view of the same process (found by consumerPid)."""
    for _ in range(200):
        items = (await conn.api.get(f"/{kind}", params={"limit": 200})).json()["items"]
        found = [p for p in items if p["consumerPid"] == process["consumerPid"] and p["role"] != process["role"]]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no counterpart of {process['id']} at {conn.name}")


async def negotiate(p: Pair) -> tuple[dict[str, Any], dict[str, Any]]:
    r = await p.consumer.post("/negotiations", {"counterPartyAddress": p.provider.base, "offerId": p.offer_id})
    assert r.status_code == 201, r.text
    consumer_side = r.json()
    return consumer_side, await counterpart(p.provider, "negotiations", consumer_side)


async def both(p: Pair, c: dict[str, Any], pr: dict[str, Any], state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return await until(p.consumer, "negotiations", c["id"], state), await until(
        p.provider, "negotiations", pr["id"], state
    )


# -- negotiation paths ------------------------------------------------------------------------------------------


async def test_counter_offers_from_both_sides_and_manual_approval(tmp_path: Path) -> None:
    async with pair(tmp_path) as p:
        behave(p.provider, auto_agree=False)
        c, pr = await negotiate(p)
        await until(p.provider, "negotiations", pr["id"], "REQUESTED", pending=True)
        ours = (await state_of(p.provider, "negotiations", pr["id"]))["offers"][-1]
        # provider counter-offer (REQUESTED -> OFFERED), consumer waits for its operator
        r = await p.provider.post(f"/negotiations/{pr['id']}/counter", {"offer": ours})
        assert r.status_code == 200, r.text
        await until(p.consumer, "negotiations", c["id"], "OFFERED", pending=True)
        # consumer counter-offer (OFFERED -> REQUESTED), provider decides again and waits (manual approval)
        r = await p.consumer.post(f"/negotiations/{c['id']}/counter", {"offer": ours})
        assert r.status_code == 200, r.text
        await until(p.provider, "negotiations", pr["id"], "REQUESTED", pending=True)
        await p.provider.post(f"/negotiations/{pr['id']}/counter", {"offer": ours})
        await until(p.consumer, "negotiations", c["id"], "OFFERED", pending=True)
        # consumer accepts; provider approves the acceptance by hand
        assert (await p.consumer.post(f"/negotiations/{c['id']}/accept", {})).status_code == 200
        await until(p.provider, "negotiations", pr["id"], "ACCEPTED", pending=True)
        assert (await p.provider.post(f"/negotiations/{pr['id']}/accept", {})).status_code == 200
        c_final, p_final = await both(p, c, pr, "FINALIZED")
        assert c_final["agreementId"] == p_final["agreementId"]


async def test_counter_offer_with_other_terms_is_refused_with_reason(tmp_path: Path) -> None:
    async with pair(tmp_path) as p:
        behave(p.provider, auto_agree=False)
        c, pr = await negotiate(p)
        await until(p.provider, "negotiations", pr["id"], "REQUESTED", pending=True)
        ours = (await state_of(p.provider, "negotiations", pr["id"]))["offers"][-1]
        await p.provider.post(f"/negotiations/{pr['id']}/counter", {"offer": ours})
        await until(p.consumer, "negotiations", c["id"], "OFFERED", pending=True)
        different = {**ours, "permission": OTHER["permission"]}
        await p.consumer.post(f"/negotiations/{c['id']}/counter", {"offer": different})
        c_end = await until(p.consumer, "negotiations", c["id"], "TERMINATED")
        assert c_end["error"]["code"] == "offer-mismatch", c_end["error"]
        assert "differs from the offer" in c_end["error"]["reason"]
        await until(p.provider, "negotiations", pr["id"], "TERMINATED")


@pytest.mark.parametrize(
    ("state", "by"),
    [
        ("REQUESTED", "consumer"),
        ("REQUESTED", "provider"),
        ("OFFERED", "consumer"),
        ("OFFERED", "provider"),
        ("ACCEPTED", "provider"),
        ("AGREED", "consumer"),
        ("VERIFIED", "provider"),
    ],
)
async def test_termination_by_each_side_in_each_state(tmp_path: Path, state: str, by: str) -> None:
    async with pair(tmp_path) as p:
        behave(p.provider, auto_agree=False, auto_finalize=False)
        behave(p.consumer, auto_verify=False)
        c, pr = await negotiate(p)
        await until(p.provider, "negotiations", pr["id"], "REQUESTED", pending=True)
        ours = (await state_of(p.provider, "negotiations", pr["id"]))["offers"][-1]
        if state in ("OFFERED", "ACCEPTED"):
            await p.provider.post(f"/negotiations/{pr['id']}/counter", {"offer": ours})
            await until(p.consumer, "negotiations", c["id"], "OFFERED", pending=True)
        if state == "ACCEPTED":
            await p.consumer.post(f"/negotiations/{c['id']}/accept", {})
            await until(p.provider, "negotiations", pr["id"], "ACCEPTED", pending=True)
        if state in ("AGREED", "VERIFIED"):
            await p.provider.post(f"/negotiations/{pr['id']}/accept", {})
            await until(p.consumer, "negotiations", c["id"], "AGREED", pending=True)
        if state == "VERIFIED":
            await p.consumer.post(f"/negotiations/{c['id']}/accept", {})
            await until(p.provider, "negotiations", pr["id"], "VERIFIED", pending=True)
        await until(p.consumer, "negotiations", c["id"], state)
        await until(p.provider, "negotiations", pr["id"], state)
        who, process = (p.consumer, c) if by == "consumer" else (p.provider, pr)
        r = await who.post(f"/negotiations/{process['id']}/terminate", {"reason": f"stop in {state}"})
        assert r.status_code == 200, r.text
        c_end, p_end = await both(p, c, pr, "TERMINATED")
        other = p_end if by == "consumer" else c_end
        assert other["error"]["reason"] == f"stop in {state}"
        assert other["error"]["code"] == "terminated-by-operator"
        if state in ("AGREED", "VERIFIED"):
            # both sides hold the agreement since AGREED, but the termination voided it: never in force
            for side in (p.consumer, p.provider):
                assert (await side.api.get("/agreements")).json()["items"] == []
                (void,) = (await side.api.get("/agreements", params={"inForce": "false"})).json()["items"]
                assert void["id"] == c_end["agreementId"] == p_end["agreementId"]
                assert not void["inForce"]
                assert not (await side.api.get(f"/agreements/{void['id']}")).json()["inForce"]


# -- transfer paths ---------------------------------------------------------------------------------------------


async def finalized_agreement(p: Pair) -> str:
    r = await p.consumer.post("/negotiations", {"counterPartyAddress": p.provider.base, "offerId": p.offer_id}, wait=20)
    assert r.json()["state"] == "FINALIZED", r.json()["error"]
    return str(r.json()["agreementId"])


async def transfer(p: Pair, agreement_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    r = await p.consumer.post("/transfers", {"agreementId": agreement_id})
    assert r.status_code == 201, r.text
    return r.json(), await counterpart(p.provider, "transfers", r.json())


async def act(conn: Running, t: dict[str, Any], action: str) -> None:
    r = await conn.post(f"/transfers/{t['id']}/{action}", {"reason": f"{action} by {conn.name}"})
    assert r.status_code == 200, r.text


async def both_t(p: Pair, c: dict[str, Any], pr: dict[str, Any], state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return await until(p.consumer, "transfers", c["id"], state), await until(p.provider, "transfers", pr["id"], state)


async def test_transfer_paths(tmp_path: Path) -> None:
    async with pair(tmp_path) as p:
        agreement_id = await finalized_agreement(p)
        # suspend/resume by either side, complete by the consumer
        c, pr = await transfer(p, agreement_id)
        await both_t(p, c, pr, "STARTED")
        await act(p.consumer, c, "suspend")
        await both_t(p, c, pr, "SUSPENDED")
        await act(p.consumer, c, "resume")
        await both_t(p, c, pr, "STARTED")
        await act(p.provider, pr, "suspend")
        await both_t(p, c, pr, "SUSPENDED")
        await act(p.provider, pr, "resume")
        await both_t(p, c, pr, "STARTED")
        await act(p.consumer, c, "complete")
        await both_t(p, c, pr, "COMPLETED")
        # complete by the provider; terminate by either side (from STARTED and from SUSPENDED)
        for actor, action, suspend_first in (
            ("provider", "complete", False),
            ("consumer", "terminate", False),
            ("provider", "terminate", True),
        ):
            c, pr = await transfer(p, agreement_id)
            await both_t(p, c, pr, "STARTED")
            if suspend_first:
                await act(p.consumer, c, "suspend")
                await both_t(p, c, pr, "SUSPENDED")
            who, process = (p.provider, pr) if actor == "provider" else (p.consumer, c)
            await act(who, process, action)
            c_end, p_end = await both_t(p, c, pr, "COMPLETED" if action == "complete" else "TERMINATED")
            if action == "terminate":
                other = c_end if actor == "provider" else p_end
                assert other["error"]["reason"] == f"terminate by {actor}"
        # terminate in REQUESTED (the provider holds the request)
        behave(p.provider, auto_start_transfers=False)
        c, pr = await transfer(p, agreement_id)
        await until(p.provider, "transfers", pr["id"], "REQUESTED", pending=True)
        await act(p.provider, pr, "terminate")
        await both_t(p, c, pr, "TERMINATED")


# -- negative cases ---------------------------------------------------------------------------------------------


def token(who: Any, audience: str, **kw: Any) -> str:
    """A self-issued token from ``who`` (a running connector or an identity)."""
    identity = who.app.state.identity if isinstance(who, Running) else who
    return "Bearer " + issue_token(identity, audience, now=kw.pop("now", dt.datetime.now(dt.UTC)), **kw)


async def raw(url: str, auth: str | None, body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"Authorization": auth} if auth else {}
    async with httpx.AsyncClient(timeout=10) as client:
        if body is None:
            return await client.get(url, headers=headers)
        return await client.post(url, json=body, headers=headers)


async def test_400_with_dsp_error_body(tmp_path: Path) -> None:
    async with pair(tmp_path) as p:
        behave(p.provider, auto_agree=False)
        _, pr = await negotiate(p)
        await until(p.provider, "negotiations", pr["id"], "REQUESTED", pending=True)
        pids = {"providerPid": pr["providerPid"], "consumerPid": pr["consumerPid"]}
        # invalid transition: a verification in REQUESTED
        r = await raw(
            f"{p.dsp}/negotiations/{pr['providerPid']}/agreement/verification",
            token(p.consumer, p.provider.did),
            {"@context": CONTEXT, "@type": "ContractAgreementVerificationMessage", **pids},
        )
        assert r.status_code == 400
        assert r.json()["@type"] == "ContractNegotiationError"
        assert r.json()["providerPid"] == pr["providerPid"]
        assert r.json()["reason"]
        # schema violation: no consumerPid
        r = await raw(
            f"{p.dsp}/negotiations/request",
            token(p.consumer, p.provider.did),
            {
                "@context": CONTEXT,
                "@type": "ContractRequestMessage",
                "offer": {"@id": p.offer_id},
                "callbackAddress": "http://x",
            },
        )
        assert r.status_code == 400
        assert r.json()["@type"] == "ContractNegotiationError"
        # unknown offer
        r = await raw(
            f"{p.dsp}/negotiations/request",
            token(p.consumer, p.provider.did),
            {
                "@context": CONTEXT,
                "@type": "ContractRequestMessage",
                "consumerPid": f"urn:uuid:{uuid.uuid4()}",
                "offer": {
                    "@id": "cd:nothing:0",
                    "@type": "Offer",
                    "target": "nothing",
                    "permission": [{"action": "use"}],
                },
                "callbackAddress": p.consumer.base + "/dsp/2025-1/callback",
            },
        )
        assert r.status_code == 400
        assert r.json()["code"] == "unknown-offer"
        # the provider's state did not move
        assert (await state_of(p.provider, "negotiations", pr["id"]))["state"] == "REQUESTED"


async def test_404_for_unknown_or_unauthorized_with_reason_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connector.api.dsp")
    async with pair(tmp_path) as p:
        third_dir = make_participant(tmp_path, "third", dataspace_pki())
        async with running(third_dir) as third:
            _, pr = await negotiate(p)
            state_url = f"{p.dsp}/negotiations/{pr['providerPid']}"
            assert (await raw(state_url, token(p.consumer, p.provider.did))).status_code == 200
            cases = {
                "audience": token(p.consumer, third.did),
                "expired": token(p.consumer, p.provider.did, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)),
                "missing": None,
            }
            for name, auth in cases.items():
                r = await raw(state_url, auth)
                assert r.status_code == 404, name
                assert r.json()["@type"] == "ContractNegotiationError"
            replayed = token(p.consumer, p.provider.did)
            assert (await raw(state_url, replayed)).status_code == 200
            assert (await raw(state_url, replayed)).status_code == 404
            # another participant (valid identity) asking for the consumer's process
            assert (await raw(state_url, token(third, p.provider.did))).status_code == 404
            # unknown DID: a did:web nobody serves
            assert (await raw(state_url, token(_ghost(third), p.provider.did))).status_code == 404
            # an unknown process
            assert (
                await raw(f"{p.dsp}/negotiations/urn:uuid:{uuid.uuid4()}", token(p.consumer, p.provider.did))
            ).status_code == 404
        refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DSP request refused")]
        text = "\n".join(refused)
        assert "audience" in text
        assert "expired" in text or "exp" in text
        assert "replay" in text or "jti" in text
        assert "cannot resolve caller DID" in text


def _ghost(conn: Running) -> Any:
    """``conn``'s key under a DID nobody serves."""
    identity = conn.app.state.identity
    return dataclasses.replace(identity, did="did:web:127.0.0.1%3A9")


async def test_initiator_sees_the_peers_refusal_in_the_management_api(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connector.api.dsp")
    async with pair(tmp_path) as p:
        # The operator names the wrong participant for the provider: our tokens carry the wrong audience, the
        # provider answers 404 (unknown or unauthorized) and logs why; the initiator is told in the answer.
        body = {
            "counterPartyAddress": p.provider.base,
            "counterPartyId": "did:web:elsewhere.example",
            "offerId": p.offer_id,
        }
        r = await p.consumer.post("/negotiations", body)
        assert r.status_code >= 400
        problem = r.json()
        assert "404" in problem["detail"] or "unauthorized" in problem["detail"], problem
        refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DSP request refused")]
        assert any("audience 'did:web:elsewhere.example'" in m for m in refused), refused
