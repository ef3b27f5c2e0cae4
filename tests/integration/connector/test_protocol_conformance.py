"""``gxc conformance PEER_URL`` against a real connector (everything conforms, the negotiation finalizes) and
against a deviating peer (the table says what deviates)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from connector.cli.main import app
from tests.integration.connector.harness import _serve, dataspace_pki, free_port, make_participant, running
from tests.integration.connector.test_negotiation_flow import MEMBERS, OPEN, offer

pytestmark = pytest.mark.integration

runner = CliRunner()


async def conformance(*args: str) -> tuple[int, dict[str, dict[str, str]], str]:
    result = await asyncio.to_thread(runner.invoke, app, ["conformance", *args, "--json"])
    report = json.loads(result.stdout)
    return result.exit_code, {c["id"]: c for c in report["checks"]}, result.stderr


async def test_a_conforming_peer_passes_and_the_negotiation_finalizes(tmp_path: Path) -> None:
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    consumer_dir = make_participant(tmp_path, "consumer", pki)
    async with running(provider_dir) as provider, running(consumer_dir):
        await offer(provider, tmp_path, "weather", OPEN)
        code, checks, _ = await conformance(provider.base, "--state-dir", str(consumer_dir))
        assert code == 0, checks
        assert {c["status"] for c in checks.values()} == {"pass"}, checks
        assert set(checks) >= {
            "version",
            "catalog",
            "dataset",
            "unknown-dataset",
            "unknown-negotiation",
            "invalid-message",
            "unknown-transfer",
            "negotiation",
        }
        assert checks["negotiation"]["detail"].startswith("FINALIZED")


async def test_a_policy_denial_is_a_decision_not_a_deviation(tmp_path: Path) -> None:
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    consumer_dir = make_participant(tmp_path, "consumer", pki)
    async with running(provider_dir) as provider, running(consumer_dir):
        await offer(provider, tmp_path, "members", MEMBERS)
        code, checks, _ = await conformance(provider.base, "--state-dir", str(consumer_dir))
        assert code == 0
        assert checks["negotiation"]["status"] == "warn"
        assert "membership" in checks["negotiation"]["detail"]


@contextlib.asynccontextmanager
async def deviating_peer() -> AsyncIterator[str]:
    """A peer with the classic mistakes: a 2024-1-style version document, a catalog without participantId and
    with a target in its offer, 500 for unknown processes and an accepted invalid message."""
    port = free_port()
    peer = FastAPI()

    @peer.get("/.well-known/dspace-version")
    async def version() -> JSONResponse:
        return JSONResponse({"protocolVersions": [{"version": "2025-1", "path": "/dsp"}]})

    @peer.post("/dsp/catalog/request")
    async def catalog() -> JSONResponse:
        dataset = {"@id": "d1", "@type": "Dataset", "hasPolicy": [{"@id": "o1", "@type": "Offer", "target": "d1"}]}
        return JSONResponse(
            {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "Catalog", "dataset": [dataset]}
        )

    @peer.get("/dsp/{path:path}")
    async def anything(path: str) -> JSONResponse:
        return JSONResponse({"error": "boom"}, status_code=500)

    @peer.post("/dsp/negotiations/request")
    async def request() -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    server, task = await _serve(peer, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_deviating_peer_is_reported_in_words(tmp_path: Path) -> None:
    consumer_dir = make_participant(tmp_path, "consumer", dataspace_pki())
    async with deviating_peer() as peer_url:
        code, checks, _ = await conformance(peer_url, "--state-dir", str(consumer_dir), "--no-negotiate")
    assert code == 1
    assert checks["version"]["status"] == "fail"
    assert "binding" in checks["version"]["detail"]
    assert checks["catalog"]["status"] == "fail"
    assert "participantId" in checks["catalog"]["detail"]
    assert "must not carry 'target'" in checks["catalog"]["detail"]
    assert checks["unknown-negotiation"]["status"] == "fail"
    assert "HTTP 500" in checks["unknown-negotiation"]["detail"]
    assert checks["invalid-message"]["status"] == "fail"
    assert "201" in checks["invalid-message"]["detail"]
