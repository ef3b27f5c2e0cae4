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


async def _raw_backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A backend answering with exact bytes: a chunked body, an error with a body, a body cut short."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1].split(b"?")[0]
        if path.endswith(b"/chunked"):
            framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (PROXIED[:5], PROXIED[5:]))
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n")
        elif path.endswith(b"/cut"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PROXIED) + PROXIED[: 1 << 20])
        else:
            problem = b'{"detail": "no such series"}'
            writer.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(problem)
                + problem
            )
        await writer.drain()
    finally:
        writer.close()


PROXIED = bytes(range(251)) * 12_000  # about 3 MiB


async def test_proxied_chunked_body_error_status_and_backend_cut_short(tmp_path: Path) -> None:
    """Through the data plane: a chunked backend body arrives whole with its digest in the ledger, a backend's 404
    and its body reach the consumer, and a backend that breaks off mid-body cuts the consumer's answer short and
    leaves an interrupted use, never a completed one."""
    pki, clock = dataspace_pki(), Clock()
    backend = await asyncio.start_server(_raw_backend, "127.0.0.1", 0)
    port = backend.sockets[0].getsockname()[1]
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    try:
        async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
            address = {"kind": "http", "base_url": f"http://127.0.0.1:{port}/series", "proxy_path": True}
            await offer(provider, "series", contract("urn:policy:series"), address)
            url, props = endpoint(await start(consumer, await agree(consumer, provider, "series")))
            async with httpx.AsyncClient(timeout=30) as http:
                r = await http.get(url + "/chunked", headers=bearer(props))
                assert r.status_code == 200, r.text
                assert hashlib.sha256(r.content).digest() == hashlib.sha256(PROXIED).digest()
                r = await http.get(url + "/missing", headers=bearer(props))
                assert (r.status_code, r.json()) == (404, {"detail": "no such series"})
                received: list[int] = []

                async def pull_cut() -> None:
                    async with http.stream("GET", url + "/cut", headers=bearer(props)) as cut:
                        assert cut.status_code == 200
                        async for chunk in cut.aiter_raw():
                            received.append(len(chunk))

                with pytest.raises(httpx.RemoteProtocolError):
                    await pull_cut()
                assert 0 < sum(received) < len(PROXIED)
            pid = url.rsplit("/", 1)[-1]
            for _ in range(100):
                records = (await provider.api.get("/ledger", params={"limit": 500})).json()["items"]
                uses = {r["data"]["use"]: r["data"]["path"] for r in records if r["kind"] == "access"}
                ends = {uses[r["data"]["use"]]: r for r in records if r["kind"].startswith("use-")}
                if len(ends) == 3:
                    break
                await asyncio.sleep(0.05)
            assert {path: r["kind"] for path, r in ends.items()} == {
                "chunked": "use-completed",
                "missing": "use-completed",
                "cut": "use-interrupted",
            }
            assert ends["chunked"]["data"]["digest"] == "sha-256=" + hashlib.sha256(PROXIED).hexdigest()
            assert ends["chunked"]["transferId"] == pid
            assert ends["cut"]["data"]["digest"] is None
            assert 0 < ends["cut"]["data"]["bytes"] < len(PROXIED)
    finally:
        backend.close()
        await backend.wait_closed()
