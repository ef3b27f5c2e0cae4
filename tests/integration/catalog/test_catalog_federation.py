"""Two federated catalogues converge (restart, partition), revocations propagate, tampered feed entries are refused."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from catalog.settings import PeerCatalogue
from tests.fixtures.catalog.harness import RunningCatalogue
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.integration


async def _status(cat: RunningCatalogue, did: str) -> str | None:
    response = await cat.client.get(f"/api/v1/participants/{quote(did, safe='')}")
    return response.json()["status"] if response.status_code == 200 else None


async def _sync(cat: RunningCatalogue) -> dict:  # type: ignore[type-arg]
    response = await cat.client.post("/api/v1/admin/federation/sync", headers=cat.headers)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]  # type: ignore[no-any-return]


async def test_two_catalogues_converge_across_restart_and_partition(catalogue_factory, world: World) -> None:  # type: ignore[no-untyped-def]
    did = world.participant.did
    async with catalogue_factory("a") as a:
        response = await a.client.post(
            "/api/v1/self-descriptions", content=world.vp_jwt(), headers={"Content-Type": "application/vp+jwt"}
        )
        assert response.status_code == 201
        path = f"/api/v1/admin/participants/{quote(did, safe='')}"
        await a.client.post(path + "/revoke", json={"reason": "test"}, headers=a.headers)
        readmit = await a.client.post(path + "/admit", headers=a.headers)
        assert readmit.json()["status"] == "admitted"
        a_url = a.url

        # B pulls one page of one event, then "crashes"
        async with catalogue_factory("b", peers=[a_url], federation_page_size=1) as b:
            partial = await b.runtime.follower.sync(PeerCatalogue(url=a_url), max_pages=1)
            assert partial.cursor == 1
            assert await _status(b, did) == "admitted"
        # restarted, B resumes from its stored cursor and converges
        async with catalogue_factory("b", peers=[a_url], federation_page_size=1) as b:
            peers = (await b.client.get("/api/v1/admin/federation/peers", headers=b.headers)).json()["items"]
            assert peers[0]["cursor"] == 1
            result = await _sync(b)
            assert result["error"] is None
            assert result["cursor"] == 3
            assert await _status(b, did) == "admitted"
            participant = (await b.client.get(path, headers=b.headers)).json()
            assert participant["origin"] == a_url
            # B verified it itself: its own report, its own trust framework
            report = (await b.client.get(path + "/report", headers=b.headers)).json()
            assert report["report"]["compliant"] is True
            assert report["report"]["presentationWindowChecked"] is False
            assert (await b.client.get("/api/v1/datasets", params={"q": "weather"})).json()["total"] >= 1

            # a tampered credential injected into A's feed is refused by B
            store = a.runtime.catalogue.store
            tokens = world.tokens()
            header, payload, signature = tokens[0].split(".")
            tampered = world.vp_jwt([f"{header}.{payload[:-4]}AAAA.{signature}", *tokens[1:]])
            await store.append_event("admitted", did, "0" * 64, tampered, "local", a.clock())
            result = await _sync(b)
            assert [r["participant"] for r in result["refused"]] == [did]
            assert await _status(b, did) == "admitted"  # the admitted version stands

            # revocation at A propagates to B
            await a.client.post(path + "/revoke", json={"reason": "left"}, headers=a.headers)
            await _sync(b)
            assert await _status(b, did) == "revoked"
            assert (await b.client.get("/api/v1/datasets")).json()["total"] == 0

    # partition: A is down; B records the failure and keeps its state
    async with catalogue_factory("b", peers=[a_url], federation_page_size=1) as b:
        result = await _sync(b)
        assert result["error"]
        peers = (await b.client.get("/api/v1/admin/federation/peers", headers=b.headers)).json()["items"]
        assert peers[0]["failures"] == 1
        # A comes back and re-admits: B converges
        async with catalogue_factory("a") as a:
            await a.client.post(f"/api/v1/admin/participants/{quote(did, safe='')}/admit", headers=a.headers)
            result = await _sync(b)
            assert result["error"] is None
            assert await _status(b, did) == "admitted"
