"""PeerClient reuses the access token granted to a peer and the peer's discovered DSP base for a short while."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httpx
import pytest

from connector.identity.participant import ParticipantIdentity
from connector.peer.client import DSP_BASE_REUSE, GRANT_REUSE, PeerClient
from connector.peer.egress import EgressPolicy, GuardedClient
from connector.peer.session import Exchanged
from self_descriptions.certificates import create_development_pki
from self_descriptions.keys import generate_key

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
VERSIONS = {"protocolVersions": [{"version": "2025-1", "path": "/api/dsp", "binding": "HTTPS"}]}


class Answering(GuardedClient):
    """The peer's answers come from ``answer(path)`` instead of the network (a unit test opens no sockets)."""

    def __init__(self, http: httpx.AsyncClient, answer: Callable[[str], object]) -> None:
        super().__init__(http, EgressPolicy(allow_private=True))
        self.answer = answer

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        request_timeout: float,
        max_bytes: int,
    ) -> Exchanged:
        body = json.dumps(self.answer(urlsplit(url).path)).encode()
        return Exchanged(200, {"content-type": "application/json"}, body)


def make_identity() -> ParticipantIdentity:
    key = generate_key("ES256")
    chain = create_development_pki(now=NOW).issue_leaf(key, "me.example.com", now=NOW)
    return ParticipantIdentity(did="did:web:me.example.com", key=key, chain_pem=chain.to_pem(), base_url="https://x")


async def test_grants_and_dsp_bases_are_reused_for_a_while() -> None:
    seen: list[str] = []
    grants: list[str] = []
    clock = [NOW]

    def answer(path: str) -> object:
        seen.append(path)
        return VERSIONS if path.endswith("dspace-version") else {}

    def grant(audience: str) -> tuple[str, list[str]]:
        grants.append(audience)
        return f"token-{len(grants)}", []

    async with httpx.AsyncClient() as http:
        guarded = Answering(http, answer)
        peers = PeerClient(make_identity(), guarded, clock=lambda: clock[0], credentials=grant)
        for _ in range(2):
            assert await peers.dsp_base("http://127.0.0.1:9/") == "http://127.0.0.1:9/api/dsp"
            await peers.send("POST", "http://127.0.0.1:9/api/dsp/x", audience="did:web:peer", body={})
        assert seen.count("/.well-known/dspace-version") == 1
        assert grants == ["did:web:peer"]
        clock[0] = NOW + max(GRANT_REUSE, DSP_BASE_REUSE)
        assert await peers.dsp_base("http://127.0.0.1:9") == "http://127.0.0.1:9/api/dsp"
        await peers.send("POST", "http://127.0.0.1:9/api/dsp/x", audience="did:web:peer", body={})
        assert seen.count("/.well-known/dspace-version") == 2
        assert grants == ["did:web:peer", "did:web:peer"]
