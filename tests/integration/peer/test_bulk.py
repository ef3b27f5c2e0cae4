"""The lean bulk client (connector.peer.bulk) against scripted servers on 127.0.0.1: every body framing, errors
passed through, bodies cut short or stalled, request bodies, redirects re-checked by the egress guard, and TLS with
the URL's name checked while the checked address is dialled."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from connector.peer.bulk import READ_SIZE, BulkError, BulkResponse, Timeouts, open_response
from connector.peer.egress import EgressDenied, EgressPolicy, GuardedClient
from self_descriptions.certificates import create_development_pki
from self_descriptions.keys import generate_key

pytestmark = pytest.mark.integration

Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LOOPBACK = EgressPolicy.from_strings(allow_private=False, networks=["127.0.0.0/8"])
BIG = bytes(range(256)) * (12 * 1024 + 7)  # about 3 MiB, not a multiple of a read


@contextlib.asynccontextmanager
async def scripted(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A server that reads one request head and lets ``handler`` answer with raw bytes; yields its port."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head)
            await handler(head, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def answer(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> Handler:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return handler


async def body_of(response: BulkResponse) -> tuple[bytes, list[int]]:
    sizes: list[int] = []
    parts: list[bytes] = []
    async for chunk in response.chunks():
        sizes.append(len(chunk))
        parts.append(chunk)
    return b"".join(parts), sizes


async def get(port: int, path: str = "/data", method: str = "GET", **kwargs: object) -> BulkResponse:
    return await open_response(method, f"http://127.0.0.1:{port}{path}", "127.0.0.1", **kwargs)  # type: ignore[arg-type]


async def test_content_length_body_arrives_whole_in_bounded_chunks() -> None:
    async with scripted(answer("200 OK", [("Content-Length", str(len(BIG))), ("ETag", '"x"')], BIG)) as port:
        response = await get(port)
        assert (response.status, response.header("etag"), response.header("ETAG")) == (200, '"x"', '"x"')
        body, sizes = await body_of(response)
    assert hashlib.sha256(body).digest() == hashlib.sha256(BIG).digest()
    assert max(sizes) <= READ_SIZE
    assert min(sizes) > 0


async def test_chunked_body_is_decoded() -> None:
    pieces = [BIG[:1000], BIG[1000:700_000], BIG[700_000:]]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nx-trailer: 1\r\n\r\n"
    async with scripted(answer("200 OK", [("Transfer-Encoding", "chunked")], framed)) as port:
        body, _ = await body_of(await get(port))
    assert body == BIG


async def test_body_until_the_connection_closes() -> None:
    async with scripted(answer("200 OK", [("Connection", "close")], BIG)) as port:
        body, _ = await body_of(await get(port))
    assert body == BIG


@pytest.mark.parametrize(("method", "status"), [("HEAD", "200 OK"), ("GET", "204 No Content")])
async def test_answers_without_a_body_end_at_the_head(method: str, status: str) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 12345\r\n\r\n".encode())
        await writer.drain()
        await asyncio.sleep(5)  # keeps the connection open: reading a body would hang

    async with scripted(handler) as port:
        response = await get(port, method=method, timeouts=Timeouts(read=2))
        body, _ = await asyncio.wait_for(body_of(response), 1)
    assert body == b""


async def test_error_status_and_its_body_are_passed_through() -> None:
    problem = b'{"detail": "no such station"}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(problem)))]
    async with scripted(answer("404 Not Found", headers, problem)) as port:
        response = await get(port)
        assert (response.status, response.header("content-type")) == (404, "application/json")
        assert (await body_of(response))[0] == problem


async def test_interim_answers_are_skipped() -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with scripted(handler) as port:
        response = await get(port)
        assert (response.status, (await body_of(response))[0]) == (200, b"ok")


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_cut_short_raises(chunked: bool) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if chunked:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % len(BIG) + BIG[:100_000])
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG) + BIG[:100_000])
        await writer.drain()

    received: list[int] = []

    async def drain(response: BulkResponse) -> None:
        async for chunk in response.chunks():
            received.append(len(chunk))

    async with scripted(handler) as port:
        response = await get(port)
        with pytest.raises(BulkError, match=r"closed 3\d+ bytes before the end|protocol error"):
            await drain(response)
    assert sum(received) <= 100_000


async def test_a_stalled_backend_times_out() -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    async with scripted(handler) as port:
        response = await get(port, timeouts=Timeouts(read=0.3))
        with pytest.raises(BulkError, match="timed out"):
            await body_of(response)


async def test_garbage_instead_of_http_is_a_protocol_error() -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()

    async with scripted(handler) as port:
        with pytest.raises(BulkError, match="protocol error"):
            await get(port)


async def test_nothing_listening_is_a_bulk_error() -> None:
    async with scripted(answer("200 OK", [])) as port:
        pass
    with pytest.raises(BulkError, match="cannot connect"):
        await get(port)


async def test_request_head_and_streamed_body() -> None:
    seen: dict[str, bytes] = {}

    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["head"] = head
        body = b""
        if b"transfer-encoding: chunked" in head.lower():
            while size := int((await reader.readline()).strip(), 16):
                body += await reader.readexactly(size)
                await reader.readline()
            await reader.readline()
        seen["body"] = body
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def upload() -> AsyncIterator[bytes]:
        for at in range(0, len(BIG), 1 << 20):
            yield BIG[at : at + (1 << 20)]

    async with scripted(handler) as port:
        response = await open_response(
            "put",
            f"http://backend.test:{port}/in box/?q=a b",
            "127.0.0.1",
            headers={"Range": "bytes=0-", "Host": "evil.test"},
            content=upload(),
        )
        assert response.status == 201
        await response.aclose()
    head = seen["head"].decode().lower()
    assert head.startswith("put /in%20box/?q=a%20b http/1.1\r\n")
    assert f"host: backend.test:{port}\r\n" in head
    assert "evil" not in head
    assert "range: bytes=0-\r\n" in head
    assert "connection: close\r\n" in head
    assert seen["body"] == BIG


async def test_guarded_stream_rechecks_every_redirect() -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = head.split(b" ")[1].decode()
        if target.startswith("/hop?to="):
            writer.write(f"HTTP/1.1 302 Found\r\nLocation: {target[8:]}\r\nContent-Length: 0\r\n\r\n".encode())
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
        await writer.drain()

    async with scripted(handler) as port, httpx.AsyncClient() as http:
        base = f"http://127.0.0.1:{port}"
        guarded = GuardedClient(http, LOOPBACK)
        response = await guarded.stream("GET", f"{base}/hop?to={base}/final")
        assert (response.status, (await body_of(response))[0]) == (200, b"final")
        with pytest.raises(EgressDenied, match=r"169\.254\.169\.254"):
            await guarded.stream("GET", f"{base}/hop?to=http://169.254.169.254/latest/meta-data")
        loop_url = f"{base}/hop?to=/hop?to=/hop?to=/hop?to=/final"
        with pytest.raises(EgressDenied, match="more than 3 redirects"):
            await guarded.stream("GET", loop_url)
        with pytest.raises(EgressDenied, match="loopback/private"):
            await GuardedClient(http, EgressPolicy()).stream("GET", f"{base}/final")


async def test_a_streamed_body_is_not_replayed_to_a_307_target() -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def upload() -> AsyncIterator[bytes]:
        yield b"once"

    async with scripted(handler) as port, httpx.AsyncClient() as http:
        with pytest.raises(BulkError, match="cannot be sent again"):
            await GuardedClient(http, LOOPBACK).stream("POST", f"http://127.0.0.1:{port}/in", content=upload())


def _tls_pair(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    now = dt.datetime.now(dt.UTC)
    pki = create_development_pki(now=now)
    key = generate_key("ES256")
    chain = pki.issue_leaf(key, name, now=now, dns_names=[name])
    (tmp_path / "chain.pem").write_bytes(chain.to_pem())
    (tmp_path / "key.pem").write_bytes(
        key.private_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    client = ssl.create_default_context(cadata=pki.root.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


async def test_tls_checks_the_url_name_on_the_pinned_address(tmp_path: Path) -> None:
    server_tls, client_tls = _tls_pair(tmp_path, "backend.test")
    async with scripted(answer("200 OK", [("Content-Length", str(len(BIG)))], BIG), tls=server_tls) as port:
        response = await open_response("GET", f"https://backend.test:{port}/data", "127.0.0.1", ssl_context=client_tls)
        assert (await body_of(response))[0] == BIG
        with pytest.raises(BulkError, match="cannot connect"):
            await open_response("GET", f"https://other.test:{port}/data", "127.0.0.1", ssl_context=client_tls)
        with pytest.raises(BulkError, match="cannot connect"):  # the default trust does not know the test CA
            await open_response("GET", f"https://backend.test:{port}/data", "127.0.0.1")
