"""A request that dies on a connection the peer closed under it is sent once more, with a fresh token."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from connector.identity.participant import ParticipantIdentity
from connector.peer.client import PeerClient, PeerUnreachable
from connector.peer.egress import EgressPolicy, GuardedClient
from connector.peer.http import http_client
from self_descriptions.certificates import create_development_pki
from self_descriptions.keys import generate_key
from self_descriptions.proofs.jose import b64url_decode

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)


def identity() -> ParticipantIdentity:
    key = generate_key("ES256")
    chain = create_development_pki(now=NOW).issue_leaf(key, "me.example.com", now=NOW)
    return ParticipantIdentity(did="did:web:me.example.com", key=key, chain_pem=chain.to_pem(), base_url="https://x")


@asynccontextmanager
async def peer(hang_ups: int, tokens: list[str]) -> AsyncIterator[str]:
    """Reads each request; hangs up without an answer on the first ``hang_ups`` connections, answers 200 later."""
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        auth = next(line for line in lines if line.lower().startswith("authorization:"))
        length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
        await reader.readexactly(length)
        tokens.append(auth.split()[-1])
        if connections > hang_ups:
            body = json.dumps({"ok": True}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            writer.write(body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/dsp/x"
    finally:
        server.close()


def jti(token: str) -> str:
    return str(json.loads(b64url_decode(token.split(".")[1]))["jti"])


async def test_a_request_the_peer_hung_up_on_is_resent_once_with_a_fresh_token() -> None:
    tokens: list[str] = []
    async with http_client() as http, peer(1, tokens) as url:
        guarded = GuardedClient(http, EgressPolicy(allow_private=True))
        peers = PeerClient(identity(), guarded, clock=lambda: NOW)
        response = await peers.send("POST", url, audience="did:web:peer", body={"@type": "X"})
        await guarded.aclose()
    assert response.status == 200
    assert response.body == {"ok": True}
    assert len(tokens) == 2
    assert jti(tokens[0]) != jti(tokens[1])  # a repeated jti would be refused as a replay


async def test_a_peer_that_keeps_hanging_up_is_unreachable_after_the_second_try() -> None:
    tokens: list[str] = []
    async with http_client() as http, peer(10, tokens) as url:
        guarded = GuardedClient(http, EgressPolicy(allow_private=True))
        peers = PeerClient(identity(), guarded, clock=lambda: NOW)
        with pytest.raises(PeerUnreachable, match=r"POST http://127\.0\.0\.1:\d+/dsp/x: ServerDisconnectedError"):
            await peers.send("POST", url, audience="did:web:peer", body={})
        await guarded.aclose()
    assert len(tokens) == 2
