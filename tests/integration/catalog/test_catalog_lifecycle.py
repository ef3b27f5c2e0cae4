"""Lifecycle and discovery: revocation and expiry take effect in the next query; SPARQL is read-only and bounded."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from connector.identity.participant import ParticipantIdentity
from connector.identity.tokens import issue_token
from tests.fixtures.catalog.harness import RunningCatalogue
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.integration

SPARQL_KEYWORD = 'PREFIX dcat: <http://www.w3.org/ns/dcat#> SELECT ?d WHERE { ?d dcat:keyword "weather" }'


async def _admit(cat: RunningCatalogue, world: World) -> None:
    response = await cat.client.post(
        "/api/v1/self-descriptions", content=world.vp_jwt(), headers={"Content-Type": "application/vp+jwt"}
    )
    assert response.status_code == 201, response.text


async def _visible(cat: RunningCatalogue) -> tuple[int, int]:
    search = (await cat.client.get("/api/v1/datasets", params={"q": "weather"})).json()["total"]
    sparql = await cat.client.get("/api/v1/sparql", params={"query": SPARQL_KEYWORD})
    assert sparql.status_code == 200, sparql.text
    return search, len(sparql.json()["results"]["bindings"])


async def test_operator_revocation_takes_effect_at_once(catalogue: RunningCatalogue, world: World) -> None:
    await _admit(catalogue, world)
    assert (await _visible(catalogue))[0] >= 1
    assert (await _visible(catalogue))[1] >= 1
    did = quote(world.participant.did, safe="")
    response = await catalogue.client.post(
        f"/api/v1/admin/participants/{did}/revoke", json={"reason": "left the federation"}, headers=catalogue.headers
    )
    assert response.json()["status"] == "revoked"
    assert await _visible(catalogue) == (0, 0)
    catalog = (await catalogue.client.get("/api/v1/catalog")).json()
    assert "catalog" not in catalog


async def test_participant_revokes_itself_with_its_dcp_token(catalogue: RunningCatalogue, world: World) -> None:
    await _admit(catalogue, world)
    identity = ParticipantIdentity(
        world.participant.did, world.participant.key, world.participant.chain_pem, "https://participant.example"
    )
    # world DID documents list key-1 under assertionMethod; DCP tokens need capabilityInvocation
    world.participant.document.setdefault("capabilityInvocation", [world.participant.kid])
    catalogue.runtime.resolver.first = world.resolver()
    did = quote(world.participant.did, safe="")
    bad = issue_token(identity, "did:web:someone-else.example", now=catalogue.clock())
    response = await catalogue.client.post(f"/api/v1/participants/{did}/revoke", headers={"Authorization": bad})
    assert response.status_code == 401
    token = issue_token(identity, catalogue.did, now=catalogue.clock())
    response = await catalogue.client.post(f"/api/v1/participants/{did}/revoke", headers={"Authorization": token})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked"
    assert await _visible(catalogue) == (0, 0)


async def test_expiry_hides_the_participant_before_any_sweep(catalogue: RunningCatalogue, world: World) -> None:
    await _admit(catalogue, world)
    status = await catalogue.client.get(f"/api/v1/participants/{quote(world.participant.did, safe='')}")
    expires = dt.datetime.fromisoformat(status.json()["expiresAt"].replace("Z", "+00:00"))
    catalogue.clock.now = expires + dt.timedelta(seconds=1)
    assert await _visible(catalogue) == (0, 0)
    listing = await catalogue.client.get(
        "/api/v1/admin/participants", params={"status": "expired"}, headers=catalogue.headers
    )
    assert [p["participant"] for p in listing.json()["items"]] == [world.participant.did]
    swept = await catalogue.client.post("/api/v1/admin/expire", headers=catalogue.headers)
    assert swept.json()["expired"] == [world.participant.did]


async def test_changed_anchors_reverify_everything_on_restart(catalogue_factory, world: World) -> None:  # type: ignore[no-untyped-def]
    async with catalogue_factory("anchors") as cat:
        await _admit(cat, world)
    async with catalogue_factory("anchors", trusted_notaries=["did:web:another-notary.example"]) as cat:
        participant = (await cat.client.get("/api/v1/admin/participants", headers=cat.headers)).json()["items"][0]
        assert participant["status"] == "rejected"
        assert "re-verification" in participant["reason"]
        assert (await cat.client.get("/api/v1/datasets")).json()["total"] == 0
        report = (
            await cat.client.get(
                f"/api/v1/admin/participants/{quote(world.participant.did, safe='')}/report", headers=cat.headers
            )
        ).json()
        assert [v["reason"] for v in report["verifications"]] == ["submission", "trust framework changed"]
    async with catalogue_factory("anchors") as cat:  # anchors restored: re-admitted
        participant = (await cat.client.get("/api/v1/admin/participants", headers=cat.headers)).json()["items"][0]
        assert participant["status"] == "admitted"


async def test_sparql_refuses_updates_service_and_runaway_queries(catalogue: RunningCatalogue, world: World) -> None:
    await _admit(catalogue, world)
    before = await _visible(catalogue)
    update = 'PREFIX dct: <http://purl.org/dc/terms/> INSERT DATA { <urn:x> dct:title "x" }'
    response = await catalogue.client.post(
        "/api/v1/sparql", content=update, headers={"Content-Type": "application/sparql-update"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "sparql-update-refused"
    response = await catalogue.client.post("/api/v1/sparql", data={"update": "DROP ALL"})
    assert response.status_code == 403
    service = "SELECT * WHERE { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }"
    response = await catalogue.client.get("/api/v1/sparql", params={"query": service})
    assert response.json()["code"] == "sparql-service-refused"
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?s{i} ?p{i} ?o{i}" for i in range(8)) + " }"
    response = await catalogue.client.get("/api/v1/sparql", params={"query": runaway})
    assert response.status_code == 400
    assert response.json()["code"] == "sparql-timeout"
    bad = await catalogue.client.get("/api/v1/sparql", params={"query": "SELECT WHERE {"})
    assert bad.json()["code"] in ("sparql-syntax-error", "sparql-error")
    # nothing stored was affected, and the restarted worker answers again
    assert await _visible(catalogue) == before
    limited = await catalogue.client.get("/api/v1/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert limited.status_code == 200


async def test_catalog_of_catalogs_and_facets(catalogue: RunningCatalogue, world: World) -> None:
    await _admit(catalogue, world)
    catalog = (await catalogue.client.get("/api/v1/catalog")).json()
    assert catalog["@type"] == "Catalog"
    nested = catalog["catalog"][0]
    assert nested["participantId"] == world.participant.did
    assert any(d["@type"] == "Dataset" and d.get("hasPolicy") for d in nested["dataset"])
    faceted = await catalogue.client.get("/api/v1/datasets", params={"purpose": "research", "type": "ServiceOffering"})
    assert faceted.json()["total"] == 1
    none = await catalogue.client.get("/api/v1/datasets", params={"purpose": "marketing"})
    assert none.json()["total"] == 0
    paged = await catalogue.client.get("/api/v1/datasets", params={"limit": 1})
    assert paged.json()["total"] == 2
    assert 'rel="next"' in paged.headers["link"]
