"""Use counting against a client that never finishes a download (issue 9 §1: counters never under-count uses).

A use is reserved (counted) when the access is permitted. If the client goes away before the last byte, the use is
not completed; were it released, a consumer under an ``at most 1 use`` agreement could read most of the data again
and again by hanging up just before the end. So a use that delivered bytes stays counted (``use-interrupted``);
only one that delivered nothing is released (``use-aborted``).
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
                if any(rec["kind"] in ("use-interrupted", "use-aborted") for rec in records):
                    break
                await asyncio.sleep(0.05)
            again = await http.get(url, headers=bearer(props))
            # the first download delivered half the data: it was the one permitted use
            assert again.status_code == 403, f"a second download under 'at most 1 use': {again.status_code}"
