"""Use counting against a client that never finishes a download (issue 9 §1: counters never under-count uses).

A use is reserved (counted) when the access is permitted and released when the client goes away before the last
byte (``use-aborted``, connector/services/usage/world.py: "never aborted"). A consumer under an ``at most 1 use``
agreement can therefore read most of the data (all but what the socket buffers would still hold) again and again,
and fetch the rest with one (counted) range request: the counter stays at zero while the data leaves many times.
The test states the safe rule (a use that delivered bytes counts) and is marked as an expected failure until the
data plane adopts it: it turns red (strict xfail) the day it does, so the marker goes with the fix.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.integration.connector.harness import dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, agree, at_most, bearer, contract, endpoint, offer, running, start

pytestmark = pytest.mark.integration

SIZE = 64 * 1024 * 1024  # far more than the socket buffers hold: the provider sees the hang-up


@pytest.mark.xfail(
    strict=True,
    reason="an aborted use is released whatever it delivered (tests/integration/dataplane/test_streaming.py "
    "test_proxy_backend_and_dropped_client_is_not_a_use): decision for the data-plane owner",
)
async def test_a_download_dropped_before_its_last_byte_still_counts(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "data.bin"
    with source.open("wb") as f:
        f.truncate(SIZE)  # sparse
    async with (
        running(make_participant(tmp_path, "provider", pki), clock) as provider,
        running(make_participant(tmp_path, "consumer", pki), clock) as consumer,
    ):
        await offer(provider, "once", contract("urn:policy:once", at_most(1)), {"kind": "file", "path": str(source)})
        url, props = endpoint(await start(consumer, await agree(consumer, provider, "once")))
        async with httpx.AsyncClient(timeout=30) as http:
            delivered = 0
            async with http.stream("GET", url, headers=bearer(props)) as r:
                assert r.status_code == 200
                async for chunk in r.aiter_raw():
                    delivered += len(chunk)
                    if delivered >= SIZE // 2:
                        break  # half of it, then hang up
            assert delivered > 0
            for _ in range(400):  # the provider notices the hang-up and settles the use
                records = (await provider.api.get("/ledger", params={"limit": 500})).json()["items"]
                if any(rec["kind"] == "use-aborted" for rec in records):
                    break
                await asyncio.sleep(0.05)
            again = await http.get(url, headers=bearer(props))
            # the first download delivered half the data: it was the one permitted use
            assert again.status_code == 403, f"a second download under 'at most 1 use': {again.status_code}"
