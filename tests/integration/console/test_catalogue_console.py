"""The catalogue console over real HTTP (no browser): public search, operator sign-in, compliance report, decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures.catalog.harness import (
    API_KEY,
    MutableClock,
    RunningCatalogue,
    free_port,
    make_state,
    running_catalogue,
    settings_for,
)
from tests.fixtures.self_descriptions.world import World, world_for
from tests.integration.console.console_client import hidden, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
async def catalogue(tmp_path: Path) -> AsyncIterator[tuple[RunningCatalogue, World]]:
    world = world_for("ES256")
    config = make_state(world, tmp_path / "catalogue", port=free_port(), name="Demo Federation")
    async with running_catalogue(settings_for(config, world), world, MutableClock(world.now)) as running:
        answer = await running.client.post(
            "/api/v1/self-descriptions", content=world.vp_jwt(), headers={"Content-Type": "application/vp+jwt"}
        )
        assert answer.status_code == 201, answer.text
        yield running, world


async def test_search_is_public_and_shows_offers_in_words(catalogue: tuple[RunningCatalogue, World]) -> None:
    running, _ = catalogue
    page = await running.client.get("/console/", params={"q": "weather"})
    assert page.status_code == 200
    assert "Weather observations" in page.text
    assert "Only for the purpose research." in page.text
    assert "Operator sign-in" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_operator_pages_need_sign_in(catalogue: tuple[RunningCatalogue, World]) -> None:
    running, _ = catalogue
    for path in ("/console/participants", "/console/federation", "/console/participant?did=x"):
        answer = await running.client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")
    page = await running.client.get("/console/login")
    wrong = await running.client.post(
        "/console/login", data={"login_token": hidden(page.text, "login_token"), "api_key": "nope"}
    )
    assert wrong.status_code == 401


async def test_operator_reviews_the_compliance_report_and_revokes(catalogue: tuple[RunningCatalogue, World]) -> None:
    running, world = catalogue
    did = world.participant.did
    csrf = await sign_in(running.client, API_KEY, prefix="/console")
    listing = await running.client.get("/console/participants")
    assert "Example Data GmbH" in listing.text
    assert "admitted" in listing.text
    report = await running.client.get("/console/participant", params={"did": did})
    assert report.status_code == 200
    for text in ("Compliance report", "Compliant", "Trust anchors", "Checks", "signature", "When it was checked"):
        assert text in report.text, text
    refused = await running.client.post("/console/participant/revoke", data={"did": did, "reason": "x"})
    assert refused.status_code == 403
    revoked = await running.client.post(
        "/console/participant/revoke", data={"did": did, "reason": "fee not paid", "csrf_token": csrf}
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/console/participant?did={quote(did, safe='')}&notice=revoked"
    status = (await running.client.get(f"/api/v1/participants/{quote(did, safe='')}")).json()
    assert status["status"] == "revoked"
    assert status["reason"].endswith("fee not paid")
    assert "0 results" in (await running.client.get("/console/", params={"q": "weather"})).text  # hidden at once


async def test_federation_page_lists_no_peers_by_default(catalogue: tuple[RunningCatalogue, World]) -> None:
    running, _ = catalogue
    await sign_in(running.client, API_KEY, prefix="/console")
    page = await running.client.get("/console/federation")
    assert page.status_code == 200
    assert "No peers configured" in page.text
