"""The DSP exchange (GuardedClient.exchange over aiohttp) against real servers on 127.0.0.1: the egress policy on
every hop, the body cap, failures as PeerUnreachable, the resend on a closed keep-alive connection, header names."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from connector.identity.participant import ParticipantIdentity
from connector.peer.client import MAX_RESPONSE_BYTES, PeerClient, PeerUnreachable
from connector.peer.egress import EgressDenied, EgressPolicy, GuardedClient
from connector.peer.session import ExchangeFailed
from self_descriptions.certificates import create_development_pki
from self_descriptions.keys import generate_key
from self_descriptions.proofs.jose import b64url_decode

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
LOOPBACK = EgressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int


#: Answers a request with the raw bytes of a response, or None to hang up without one.
Handler = Callable[[Request], Awaitable[bytes | None]]


@dataclass
class Peer:
    url: str
    requests: list[Request] = field(default_factory=list)


def response(status: int = 200, body: bytes = b"{}", *, head: str = "Content-Type: application/json\r\n") -> bytes:
    reason = {200: "OK", 302: "Found", 303: "See Other", 307: "Temporary Redirect"}.get(status, "X")
    return f"HTTP/1.1 {status} {reason}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


@asynccontextmanager
async def peer(handler: Handler) -> AsyncIterator[Peer]:
    """A raw HTTP/1.1 server: keeps connections alive and numbers them, so a test sees which one a request used."""
    connections = 0
    served = Peer("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                first, *lines = head.decode().split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                method, path, _ = first.split(" ")
                request = Request(method, path, headers, body, number)
                served.requests.append(request)
                answer = await handler(request)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    served.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield served
    finally:
        server.close()


@pytest.fixture
async def guarded() -> AsyncIterator[GuardedClient]:
    async with httpx.AsyncClient() as http:
        client = GuardedClient(http, LOOPBACK)
        yield client
        await client.aclose()


def identity() -> ParticipantIdentity:
    key = generate_key("ES256")
    chain = create_development_pki(now=NOW).issue_leaf(key, "me.example.com", now=NOW)
    return ParticipantIdentity(did="did:web:me.example.com", key=key, chain_pem=chain.to_pem(), base_url="https://x")


def jti(authorization: str) -> str:
    return str(json.loads(b64url_decode(authorization.split()[-1].split(".")[1]))["jti"])


async def ok(request: Request) -> bytes:
    return response(body=json.dumps({"path": request.path}).encode())


async def exchange(client: GuardedClient, method: str, url: str, *, max_bytes: int = 1 << 20) -> tuple[int, bytes]:
    answer = await client.exchange(
        method, url, headers={"Accept": "application/json"}, content=None, request_timeout=5.0, max_bytes=max_bytes
    )
    return answer.status, answer.body


async def test_the_default_policy_refuses_a_private_address_literal_before_connecting() -> None:
    async with peer(ok) as server, httpx.AsyncClient() as http:
        client = GuardedClient(http, EgressPolicy())
        with pytest.raises(EgressDenied, match=r"/x: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback/private"):
            await exchange(client, "GET", server.url + "/x")
        for literal in ("127.1", "2130706433", "127.0.0.1."):  # forms the OS would take for 127.0.0.1
            with pytest.raises(EgressDenied):
                await exchange(client, "GET", server.url.replace("127.0.0.1", literal) + "/x")
        await client.aclose()
    assert server.requests == []


async def test_the_default_policy_refuses_localhost_in_the_resolver_with_the_reason() -> None:
    async with peer(ok) as server, httpx.AsyncClient() as http:
        client = GuardedClient(http, EgressPolicy())
        url = server.url.replace("127.0.0.1", "localhost") + "/x"
        # The resolver's EgressDenied comes out of aiohttp as it is (not as a failed connection), with the URL.
        with pytest.raises(EgressDenied, match=rf"^{url}: localhost resolves to .*egress_allow_private = true"):
            await exchange(client, "GET", url)
        await client.aclose()
    assert server.requests == []


async def test_a_scheme_the_policy_does_not_allow_is_refused(guarded: GuardedClient) -> None:
    with pytest.raises(EgressDenied, match="scheme 'ftp' is not allowed"):
        await exchange(guarded, "GET", "ftp://127.0.0.1/x")


async def test_redirects_are_followed_and_each_target_checked_again(guarded: GuardedClient) -> None:
    async def redirecting(request: Request) -> bytes:
        if request.path.startswith("/hop"):
            target = request.path.split("to=", 1)[1]
            return response(303 if request.method == "POST" else 302, b"", head=f"Location: {target}\r\n")
        return await ok(request)

    async with peer(redirecting) as server:
        assert await exchange(guarded, "GET", f"{server.url}/hop?to=/final") == (200, b'{"path": "/final"}')
        answer = await guarded.exchange(
            "POST", f"{server.url}/hop?to={server.url}/after-post", headers={}, content=b"{}", request_timeout=5.0,
            max_bytes=1000,
        )  # fmt: skip
        assert answer.status == 200
        assert (server.requests[-1].method, server.requests[-1].body) == ("GET", b"")  # 303: GET without a body
        with pytest.raises(EgressDenied, match=r"169\.254\.169\.254/latest: 169\.254\.169\.254 resolves to"):
            await exchange(guarded, "GET", f"{server.url}/hop?to=http://169.254.169.254/latest")
        with pytest.raises(EgressDenied, match="more than 3 redirects"):
            await exchange(guarded, "GET", f"{server.url}/hop?to=/hop?to=/hop?to=/hop?to=/hop?to=/final")
    assert all(not r.path.startswith("/latest") for r in server.requests)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_an_answer_larger_than_the_cap_is_refused(guarded: GuardedClient, framing: str) -> None:
    big = b"x" * 5000

    async def large(request: Request) -> bytes:
        if framing == "chunked":
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
        return response(body=big)

    async with peer(large) as server:
        with pytest.raises(ExchangeFailed, match="answer larger than 4096 bytes"):
            await exchange(guarded, "GET", server.url + "/big", max_bytes=4096)
        assert await exchange(guarded, "GET", server.url + "/big", max_bytes=5000) == (200, big)


async def test_peer_client_refuses_an_answer_over_its_limit_as_unreachable(guarded: GuardedClient) -> None:
    async def huge(request: Request) -> bytes:
        return response(body=b" " * (MAX_RESPONSE_BYTES + 1))

    async with peer(huge) as server:
        peers = PeerClient(identity(), guarded, clock=lambda: NOW)
        with pytest.raises(PeerUnreachable, match=rf"^GET {server.url}/x: answer larger than {MAX_RESPONSE_BYTES}"):
            await peers.send("GET", server.url + "/x", audience=None)


async def test_a_refused_connection_is_unreachable(guarded: GuardedClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    peers = PeerClient(identity(), guarded, clock=lambda: NOW)
    with pytest.raises(PeerUnreachable, match=rf"^POST http://127\.0\.0\.1:{port}/dsp: ClientConnectorError"):
        await peers.send("POST", f"http://127.0.0.1:{port}/dsp", audience="did:web:peer", body={})


async def test_a_peer_that_does_not_answer_in_time_is_unreachable(guarded: GuardedClient) -> None:
    async def silent(request: Request) -> bytes:
        await asyncio.sleep(5)
        return response()

    async with peer(silent) as server:
        peers = PeerClient(identity(), guarded, clock=lambda: NOW, timeout=0.2)
        with pytest.raises(PeerUnreachable, match=r"/x: no answer within 0\.2 s"):
            await peers.send("GET", server.url + "/x", audience=None)


async def test_a_kept_alive_connection_the_peer_closed_is_resent_once_with_a_new_token(
    guarded: GuardedClient,
) -> None:
    """The first request leaves its connection in the pool; the peer drops it just as the second request arrives on
    it (an idle timeout racing the reuse). The second is sent once more, on a new connection, with a new jti."""

    async def drops_on_reuse(request: Request) -> bytes | None:
        earlier = [r for r in served.requests if r.connection == request.connection]
        return None if len(earlier) > 1 else response(body=b'{"ok":true}')

    async with peer(drops_on_reuse) as served:
        peers = PeerClient(identity(), guarded, clock=lambda: NOW)
        first = await peers.send("POST", served.url + "/dsp/a", audience="did:web:peer", body={"n": 1})
        second = await peers.send("POST", served.url + "/dsp/b", audience="did:web:peer", body={"n": 2})
    assert (first.status, second.status, second.body) == (200, 200, {"ok": True})
    assert [(r.path, r.connection) for r in served.requests] == [("/dsp/a", 1), ("/dsp/b", 1), ("/dsp/b", 2)]
    tokens = [jti(r.headers["authorization"]) for r in served.requests]
    assert len(set(tokens)) == 3  # the resend carries a fresh token: a repeated jti is refused as a replay


async def test_headers_have_lower_case_names_and_requests_a_stable_identity(guarded: GuardedClient) -> None:
    async def decorated(request: Request) -> bytes:
        head = "Content-Type: application/json\r\nX-Custom-Field: A\r\nX-Twice: 1\r\nX-Twice: 2\r\nSet-Cookie: s=1\r\n"
        return response(body=b'{"a": 1}', head=head)

    async with peer(decorated) as server:
        peers = PeerClient(identity(), guarded, clock=lambda: NOW)
        answer = await peers.send("POST", server.url + "/x", audience=None, body={"q": 1})
        await peers.send("GET", server.url + "/y", audience=None)
    assert answer.body == {"a": 1}
    assert answer.text == '{"a": 1}'
    assert answer.headers["x-custom-field"] == "A"
    assert answer.headers["x-twice"] == "1, 2"
    assert all(name == name.lower() for name in answer.headers)
    sent, then = server.requests
    assert sent.headers["user-agent"] == "gxc-connector"
    assert sent.headers["accept-encoding"] == "gzip, deflate"
    assert sent.headers["content-type"] == "application/json"
    assert "cookie" not in then.headers  # no cookie jar: what one peer sets never travels anywhere
    assert "content-type" not in then.headers
