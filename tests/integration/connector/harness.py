"""Real connectors on 127.0.0.1 for integration tests: uvicorn servers in the test's event loop, real SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from connector.api import well_known
from connector.app import create_app
from connector.identity.participant import ParticipantIdentity, init_participant, load_identity
from connector.settings import ConnectorSettings, load_settings
from connector.worker.outbox_runner import RetryPolicy
from self_descriptions.certificates import DevelopmentPki, create_development_pki
from self_descriptions.proofs.vc_jwt import sign_vc_jwt
from self_descriptions.status_list import Bitstring, build_status_list_credential

NOW = dt.datetime.now(dt.UTC)
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.2, poll_seconds=0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    """A started connector: its settings, base URL and a management API client."""

    name: str
    settings: ConnectorSettings
    app: FastAPI
    base: str
    api: httpx.AsyncClient

    @property
    def did(self) -> str:
        return str(self.app.state.identity.did)

    async def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return await self.api.post(path, json=body, params=params)


def make_participant(root: Path, name: str, pki: DevelopmentPki, **config: Any) -> Path:
    """A participant state folder made by `gxc init`'s code, with ``config`` written into its gxc.toml."""
    state = root / name
    init_participant(
        state,
        participant_name=config.pop("participant_name", name),
        host="127.0.0.1",
        port=free_port(),
        public_url=None,
        alg="ES256",
        now=NOW,
        pki=pki,
        settings=config,
    )
    return state


async def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task


@contextlib.asynccontextmanager
async def running(state: Path, *, retry: RetryPolicy = FAST_RETRY) -> AsyncIterator[Running]:
    settings = load_settings(state / "gxc.toml")
    app = create_app(settings, retry=retry)
    server, task = await _serve(app, settings.port)
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else ""
    async with httpx.AsyncClient(
        base_url=settings.base_url + "/api/management/v1", headers={"X-Api-Key": key}, timeout=30
    ) as api:
        try:
            yield Running(state.name, settings, app, settings.base_url, api)
        finally:
            server.should_exit = True
            await task


@dataclass
class Issuer:
    """A credential issuer (e.g. the federation operator) that serves its did:web document on 127.0.0.1, and a
    W3C Bitstring Status List (revocation) at :attr:`status_list_url` with the indexes in :attr:`revoked` set."""

    identity: ParticipantIdentity
    revoked: set[int] = field(default_factory=set)

    @property
    def status_list_url(self) -> str:
        return self.identity.base_url + "/status/revocation"

    def status_list(self) -> str:
        """The signed status list credential as it is now (re-signed on every request)."""
        bits = Bitstring.zeros()
        for index in self.revoked:
            bits.set(index)
        now = dt.datetime.now(dt.UTC)
        vc = build_status_list_credential(
            url=self.status_list_url, issuer=self.identity.did, purpose="revocation", bits=bits, valid_from=now
        )
        return sign_vc_jwt(vc, self.identity.key, kid=self.identity.kid, issued_at=now)

    def issue(self, subject: str, vc_type: str, claims: dict[str, Any], *, days: int = 30) -> str:
        credential = {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"],
            "type": ["VerifiableCredential", vc_type],
            "id": f"urn:uuid:{subject[-8:]}-{vc_type}",
            "issuer": self.identity.did,
            "validFrom": NOW.isoformat().replace("+00:00", "Z"),
            "validUntil": (NOW + dt.timedelta(days=days)).isoformat().replace("+00:00", "Z"),
            "credentialSubject": {"id": subject, **claims},
        }
        return sign_vc_jwt(credential, self.identity.key, kid=self.identity.kid, issued_at=NOW)


@contextlib.asynccontextmanager
async def running_issuer(root: Path, pki: DevelopmentPki) -> AsyncIterator[Issuer]:
    state = make_participant(root, "federation", pki)
    settings = load_settings(state / "gxc.toml")
    identity = load_identity(settings, now=NOW)
    issuer = Issuer(identity)
    app = FastAPI()
    app.include_router(well_known.router(identity))

    @app.get("/status/revocation")
    async def status_list() -> Response:
        return Response(issuer.status_list(), media_type="application/vc+jwt")

    server, task = await _serve(app, settings.port)
    try:
        yield issuer
    finally:
        server.should_exit = True
        await task


def dataspace_pki() -> DevelopmentPki:
    return create_development_pki(now=NOW, name="test data space")
