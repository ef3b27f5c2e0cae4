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

from tests.integration.connector.harness import dataspace_pki, free_port, make_participant, running
from tests.integration.connector.test_negotiation_flow import OPEN, offer, offer_id_of

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
