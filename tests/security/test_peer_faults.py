"""Peer faults (issue 9 §2): a peer that is down, answers 5xx, never answers, or hangs up mid-answer. The outbox
retries with backoff, gives up after the configured attempts with a reason on the process, and never blocks the
other processes: a negotiation with a healthy provider finalises meanwhile."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from connector.domain import OutboxStatus
from connector.worker.outbox_runner import RetryPolicy
from tests.integration.connector.harness import dataspace_pki, free_port, make_participant, running
from tests.integration.connector.test_negotiation_flow import OPEN, offer, offer_id_of
from tests.integration.dataplane import flow
from tests.integration.dataplane.test_enforcement import wait_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@asynccontextmanager
async def faulty_peer(mode: str, hits: Counter[str]) -> AsyncIterator[str]:
    """A raw TCP peer on loopback: ``503`` answers Service Unavailable, ``hang`` reads the request and never
    answers, ``reset`` closes the connection after the request line."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()
            hits[mode] += 1
            if mode == "503":
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
            elif mode == "hang":
                await asyncio.sleep(3600)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_faulty_peers_are_retried_then_given_up_without_blocking_others(tmp_path: Path) -> None:
    pki = dataspace_pki()
    hits: Counter[str] = Counter()
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with (
        running(make_participant(tmp_path, "provider", pki)) as provider,
        running(make_participant(tmp_path, "consumer", pki)) as consumer,
        faulty_peer("503", hits) as unavailable,
        faulty_peer("hang", hits) as hanging,
        faulty_peer("reset", hits) as resetting,
    ):
        await offer(provider, tmp_path, "weather", OPEN)
        good_offer = await offer_id_of(consumer, provider, "weather")
        peers = {"down": down, "503": unavailable, "hang": hanging, "reset": resetting}
        faulty: dict[str, str] = {}
        for name, address in peers.items():
            r = await consumer.post("/negotiations", {"counterPartyAddress": address, "offerId": good_offer})
            if r.status_code == 201:
                faulty[name] = r.json()["id"]
            else:  # refused at once with the reason (the first message is sent in the request)
                assert r.status_code in (400, 409, 502, 503, 504), (name, r.text)
                assert r.json()["detail"], (name, r.text)
        # meanwhile the healthy provider is served normally
        r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": good_offer}, wait=30)
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "FINALIZED", r.json()
        # the faulty ones end TERMINATED with a reason after the configured attempts
        for name, negotiation_id in faulty.items():
            seen = {}
            for _ in range(600):
                seen = (await consumer.api.get(f"/negotiations/{negotiation_id}")).json()
                if seen["state"] == "TERMINATED":
                    break
                await asyncio.sleep(0.1)
            assert seen["state"] == "TERMINATED", (name, seen)
            assert seen.get("error"), (name, seen)
        for mode in ("503", "reset"):
            if mode in faulty:
                assert 2 <= hits[mode] <= 3, hits  # retried, and no more than FAST_RETRY.max_attempts


#: A consumer that keeps retrying while its provider is down for a few seconds.
PATIENT = RetryPolicy(max_attempts=200, base_delay=0.05, max_delay=0.2, poll_seconds=0.2)


async def test_a_termination_before_the_request_was_acknowledged_reaches_the_provider(tmp_path: Path) -> None:
    """Found by the crash points: a consumer terminated a transfer whose request the provider had not acknowledged
    yet (it died after committing). The termination went out at once, in parallel with the retried request and
    with an empty providerPid in its URL, was refused with 404 until it was given up: the consumer ended
    TERMINATED, the provider STARTED. Now a process's messages go out in order, and the termination learns the
    providerPid from the request's ACK before it is sent."""
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    data = tmp_path / "weather.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    async with running(make_participant(tmp_path, "consumer", pki), retry=PATIENT) as consumer:
        async with running(provider_dir) as provider:
            await flow.offer(provider, "weather", OPEN, {"kind": "file", "path": str(data)})
            agreement = await flow.agree(consumer, provider, "weather")
        # the provider is down: the request waits in the consumer's outbox, and so does the termination after it
        r = await consumer.post("/transfers", {"agreementId": agreement})
        assert r.status_code == 201, r.text
        transfer = r.json()
        assert transfer["providerPid"] is None
        r = await consumer.post(f"/transfers/{transfer['id']}/terminate", {"reason": "changed my mind"})
        assert r.status_code == 200, r.text
        async with running(provider_dir) as provider:
            mine = await wait_state(consumer, transfer["id"], "TERMINATED")
            assert mine["error"]["code"] == "terminated-by-operator", mine  # not given up: delivered
            for _ in range(200):
                [theirs] = (await provider.api.get("/transfers")).json()["items"]
                if theirs["state"] == "TERMINATED":
                    break
                await asyncio.sleep(0.05)
            assert theirs["consumerPid"] == transfer["consumerPid"]
            assert theirs["state"] == "TERMINATED", theirs
            assert theirs["providerPid"] == mine["providerPid"]


async def test_a_termination_outlives_the_retry_limit_until_the_peer_is_back(tmp_path: Path) -> None:
    """Other messages are given up after ``max_attempts`` (3 here); a termination to a peer that is down ends the
    transfer here at that point but keeps trying (for a day, backoff capped): it is how the peer learns that the
    transfer ended, and the provider was down for longer than the retries of any other message."""
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    data = tmp_path / "weather.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    async with running(make_participant(tmp_path, "consumer", pki)) as consumer:
        async with running(provider_dir) as provider:
            await flow.offer(provider, "weather", OPEN, {"kind": "file", "path": str(data)})
            transfer = await flow.start(consumer, await flow.agree(consumer, provider, "weather"))
            assert transfer["state"] == "STARTED", transfer
        r = await consumer.post(f"/transfers/{transfer['id']}/terminate", {"reason": "done with it"})
        assert r.status_code == 200, r.text
        store = consumer.app.state.connector.runtime.store
        for _ in range(200):  # wait until the termination has been tried more often than max_attempts
            async with store.transaction() as tx:
                [termination] = [
                    m
                    for m in (await tx.outbox.list(process_id=transfer["id"])).items
                    if m.message_type == "TransferTerminationMessage"
                ]
            if termination.attempts > 4:
                break
            await asyncio.sleep(0.05)
        assert termination.attempts > 4
        assert termination.status is OutboxStatus.PENDING
        mine = (await consumer.api.get(f"/transfers/{transfer['id']}")).json()
        assert (mine["state"], mine["error"]["code"]) == ("TERMINATED", "terminated-by-operator"), mine
        async with running(provider_dir) as provider:
            for _ in range(200):
                [theirs] = (await provider.api.get("/transfers")).json()["items"]
                if theirs["state"] == "TERMINATED":
                    break
                await asyncio.sleep(0.05)
            assert theirs["state"] == "TERMINATED", theirs
            assert theirs["error"]["code"] == "terminated-by-operator", theirs
            async with store.transaction() as tx:
                assert (await tx.outbox.get(termination.id)).status is OutboxStatus.SENT
