"""Large payloads (>= 200 MB, generated sparsely) pulled and pushed with digests checked end to end; an HTTP
backend proxied with path/query forwarding; a client dropping mid-stream does not count as a use."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.connector.harness import _serve, dataspace_pki, free_port, make_participant
from tests.integration.dataplane.flow import Clock, agree, at_most, bearer, contract, endpoint, offer, running, start
from tests.integration.dataplane.test_enforcement import wait_state

pytestmark = pytest.mark.integration
SIZE = 200 * 1024 * 1024 + 12345


def sparse_file(path: Path) -> str:
    """A 200 MB file made in milliseconds: holes read as zeros, with marks so offsets matter."""
    with path.open("wb") as fh:
        fh.truncate(SIZE)
        for at in (0, 1 << 20, 77 * (1 << 20) + 3, SIZE - 5):
            fh.seek(at)
            fh.write(b"mark!")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


class Sink:
    """A push destination: hashes what it receives, never holds it."""

    def __init__(self) -> None:
        self.received: list[tuple[str, int, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        digest, size = hashlib.sha256(), 0
        while True:
            message = await receive()
            body = message.get("body", b"")
            digest.update(body)
            size += len(body)
            if not message.get("more_body"):
                break
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        self.received.append((auth, size, digest.hexdigest()))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class Backend:
    """An HTTP backend with a path below the asset's base URL and a query parameter."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = f"{scope['path']}?{scope['query_string'].decode()}".encode() * 1000
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.slow
async def test_large_pull_and_push_keep_digests(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "big.bin"
    expected = sparse_file(source)
    sink, sink_port = Sink(), free_port()
    sink_server, sink_task = await _serve(sink, sink_port)  # type: ignore[arg-type]
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    try:
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            await offer(provider, "big", contract("urn:policy:big"), {"kind": "file", "path": str(source)})
            agreement_id = await agree(consumer, provider, "big")
            url, props = endpoint(await start(consumer, agreement_id))
            digest, size = hashlib.sha256(), 0
            async with httpx.AsyncClient(timeout=120) as http, http.stream("GET", url, headers=bearer(props)) as r:
                assert r.status_code == 200
                async for chunk in r.aiter_raw():
                    digest.update(chunk)
                    size += len(chunk)
            assert (size, digest.hexdigest()) == (SIZE, expected)

            push_address = {
                "@type": "DataAddress",
                "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                "endpoint": f"http://127.0.0.1:{sink_port}/inbox/big",
                "endpointProperties": [
                    {"@type": "EndpointProperty", "name": "authorization", "value": "sink-secret"},
                    {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
                ],
            }
            pushed = await start(consumer, agreement_id, format="HttpData-PUSH", dataAddress=push_address)
            await wait_state(consumer, pushed["id"], "COMPLETED")
            assert sink.received == [("Bearer sink-secret", SIZE, expected)]
            records = (await provider.api.get("/ledger")).json()["items"]
            uses = [r["data"] for r in records if r["kind"] == "use-completed"]
            assert [u["digest"] for u in uses] == ["sha-256=" + expected] * 2
    finally:
        sink_server.should_exit = True
        await sink_task


async def test_proxy_backend_and_dropped_client_is_not_a_completed_use(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    backend_port = free_port()
    backend_server, backend_task = await _serve(Backend(), backend_port)  # type: ignore[arg-type]
    source = tmp_path / "big.bin"
    sparse_file(source)
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    try:
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            address = {
                "kind": "http",
                "base_url": f"http://127.0.0.1:{backend_port}/api",
                "proxy_path": True,
                "proxy_query": True,
            }
            await offer(provider, "api", contract("urn:policy:api"), address)
            await offer(
                provider, "once", contract("urn:policy:once", at_most(1)), {"kind": "file", "path": str(source)}
            )
            url, props = endpoint(await start(consumer, await agree(consumer, provider, "api")))
            async with httpx.AsyncClient(timeout=30) as http:
                r = await http.get(
                    url + "/v1/obs", params={"station": "7", "gxc-purpose": "research"}, headers=bearer(props)
                )
                assert r.status_code == 200, r.text
                assert r.content == b"/api/v1/obs?station=7" * 1000
                escape = await http.get(url + "/%2e%2e/admin", headers=bearer(props))
                assert escape.status_code == 400

                # a client that goes away mid-stream is not a completed use, but the data it got counts as the one use
                url, props = endpoint(await start(consumer, await agree(consumer, provider, "once")))
                pid = url.rsplit("/", 1)[-1]
                async with http.stream("GET", url, headers=bearer(props)) as r:
                    assert r.status_code == 200
                    async for _ in r.aiter_raw():
                        break
                for _ in range(100):
                    records = (await provider.api.get("/ledger", params={"limit": 500})).json()["items"]
                    cut = [r["data"] for r in records if r["kind"] == "use-interrupted" and r["transferId"] == pid]
                    if cut:
                        break
                    await asyncio.sleep(0.05)
                assert len(cut) == 1
                assert 0 < cut[0]["bytes"] < SIZE
                assert not [r for r in records if r["kind"] == "use-completed" and r["transferId"] == pid]
                denied = await http.get(url, headers=bearer(props))
                assert denied.status_code == 403
                assert "count" in denied.json()["detail"]
    finally:
        backend_server.should_exit = True
        await backend_task
