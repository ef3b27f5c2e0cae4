"""Admission over HTTP: a valid participant is admitted; every failure kind is rejected with its reason."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from urllib.parse import quote

import pytest

from self_descriptions.build import Validity, build_self_description
from self_descriptions.certificates import create_development_pki
from tests.fixtures.catalog.harness import RunningCatalogue
from tests.fixtures.self_descriptions.poison import poison_credential
from tests.fixtures.self_descriptions.world import World, make_party

pytestmark = pytest.mark.integration


async def _submit(cat: RunningCatalogue, vp: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = await cat.client.post(
        "/api/v1/self-descriptions", content=vp, headers={"Content-Type": "application/vp+jwt"}
    )
    return response.status_code, response.json()


def _failed(body: dict, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in body["checks"] if c["name"] == name]


async def test_valid_participant_is_admitted_and_discoverable(catalogue: RunningCatalogue, world: World) -> None:
    status, body = await _submit(catalogue, world.vp_jwt())
    assert status == 201, body
    assert body["participant"] == world.participant.did
    assert body["status"] == "admitted"
    assert body["report"]["compliant"] is True
    assert body["complianceCredential"].count(".") == 2
    # the same presentation again is idempotent
    status, _again = await _submit(catalogue, world.vp_jwt())
    assert status in (200, 201)
    found = (await catalogue.client.get("/api/v1/datasets", params={"q": "weather"})).json()
    assert found["total"] >= 1
    assert {i["participant"] for i in found["items"]} == {world.participant.did}
    assert "research" in found["facets"]["purpose"]
    public = await catalogue.client.get(f"/api/v1/participants/{quote(world.participant.did, safe='')}")
    assert public.json()["status"] == "admitted"


async def test_tampered_presentation_is_rejected_with_the_signature_check(
    catalogue: RunningCatalogue, world: World
) -> None:
    tokens = world.tokens()
    header, payload, signature = tokens[0].split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    status, body = await _submit(catalogue, world.vp_jwt([tampered, *tokens[1:]]))
    assert status == 422
    assert body["code"] == "admission-rejected"
    assert any((c["code"] or "").startswith("signature") or c["name"] == "credential" for c in body["checks"])
    listing = await catalogue.client.get(
        "/api/v1/admin/participants", params={"status": "rejected"}, headers=catalogue.headers
    )
    assert [p["participant"] for p in listing.json()["items"]] == [world.participant.did]
    assert listing.json()["items"][0]["reason"]


async def test_untrusted_chain_is_rejected(catalogue: RunningCatalogue, world: World) -> None:
    other_pki = create_development_pki(now=world.now - dt.timedelta(days=30), name="rogue")
    rogue = make_party("participant.example", "ES256", other_pki, now=world.now, key=world.participant.key)
    fetcher = world.fetcher()
    # Serve the rogue chain at the participant's x5u URL.
    catalogue.runtime.catalogue.admission.x5u_fetcher = fetcher
    fetcher.add(rogue.document["verificationMethod"][0]["publicKeyJwk"]["x5u"], rogue.chain_pem)
    status, body = await _submit(catalogue, world.vp_jwt())
    assert status == 422
    assert _failed(body, "trust-anchor")
    assert all(c["code"] == "untrusted" for c in _failed(body, "trust-anchor"))


async def test_shape_violation_is_rejected(catalogue: RunningCatalogue, world: World) -> None:
    sd = world.self_description
    legal = copy.deepcopy(sd.legal_person)
    del legal["credentialSubject"]["gx:legalAddress"]
    tokens = [world.sign(legal), *[world.sign(c) for c in sd.all()[1:]]]
    status, body = await _submit(catalogue, world.vp_jwt(tokens))
    assert status == 422
    assert [c["code"] for c in _failed(body, "shapes")] == ["shacl-violation"]


async def test_expired_credentials_are_rejected(catalogue: RunningCatalogue, world: World) -> None:
    profile, datasets = world.profile, world.datasets
    old = build_self_description(
        profile,
        datasets,
        validity=Validity(world.now - dt.timedelta(days=100), world.now - dt.timedelta(days=10)),
        notary_did=world.notary.did,
    )
    status, body = await _submit(catalogue, world.vp_jwt([world.sign(c) for c in old.all()]))
    assert status == 422
    assert {c["code"] for c in _failed(body, "validity")} == {"expired"}


async def test_unknown_notary_is_rejected(catalogue_factory, world: World) -> None:  # type: ignore[no-untyped-def]
    async with catalogue_factory("strict-notary", trusted_notaries=["did:web:notary.other.example"]) as cat:
        status, body = await _submit(cat, world.vp_jwt())
    assert status == 422
    assert [c["code"] for c in _failed(body, "trusted-notary")] == ["untrusted-notary"]
    assert world.notary.did in _failed(body, "trusted-notary")[0]["message"]


async def test_bad_input_is_refused_and_nothing_is_stored(catalogue: RunningCatalogue, world: World) -> None:
    huge = "a" * (catalogue.settings.max_submission_bytes + 10)
    response = await catalogue.client.post(
        "/api/v1/self-descriptions", content=huge, headers={"Content-Type": "application/vp+jwt"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    bomb = "[" * 5000 + "]" * 5000
    response = await catalogue.client.post(
        "/api/v1/self-descriptions", content=bomb, headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "limit-exceeded"
    # a JSON-LD "bomb": many blank nodes / deep nesting inside a presentation
    nested: dict = {"a": "b"}  # type: ignore[type-arg]
    for _ in range(60):
        nested = {"x": nested}
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "verifiableCredential": [
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": "VerifiableCredential",
                "credentialSubject": nested,
            }
        ],
    }
    import json

    response = await catalogue.client.post(
        "/api/v1/self-descriptions", content=json.dumps(vp), headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code in (400, 422)
    response = await catalogue.client.post(
        "/api/v1/self-descriptions", content="not a presentation", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    listing = await catalogue.client.get("/api/v1/admin/participants", headers=catalogue.headers)
    assert listing.json()["items"] == []


async def test_operator_api_requires_the_key(catalogue: RunningCatalogue) -> None:
    response = await catalogue.client.get("/api/v1/admin/participants")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid-api-key"
    wrong = await catalogue.client.get("/api/v1/admin/participants", headers={"X-Api-Key": "nope"})
    assert wrong.status_code == 401
    docs = await catalogue.client.get("/openapi.json")
    paths = docs.json()["paths"]
    assert "/api/v1/self-descriptions" in paths
    assert "/api/v1/datasets" in paths


async def test_manual_mode_waits_for_the_operator(catalogue_factory, world: World) -> None:  # type: ignore[no-untyped-def]
    async with catalogue_factory("manual", admission_mode="manual") as cat:
        status, body = await _submit(cat, world.vp_jwt())
        assert status == 201
        assert body["status"] == "pending"
        assert (await cat.client.get("/api/v1/datasets")).json()["total"] == 0
        did = quote(world.participant.did, safe="")
        admitted = await cat.client.post(f"/api/v1/admin/participants/{did}/admit", headers=cat.headers)
        assert admitted.status_code == 200, admitted.text
        assert admitted.json()["status"] == "admitted"
        assert (await cat.client.get("/api/v1/datasets")).json()["total"] >= 1
        report = await cat.client.get(
            f"/api/v1/admin/participants/{did}/report", params={"format": "text"}, headers=cat.headers
        )
        assert "PASS signature" in report.text
        assert "operator admission" in report.text


async def test_poisoned_json_ld_submission_is_stopped_at_the_canonicalization_timeout(  # type: ignore[no-untyped-def]
    catalogue_factory, world: World
) -> None:
    """A Tagus VP whose credential carries a poison dataset (RDFC-1.0 §7.1, hours in pyld) is rejected with
    ``canonicalization-timeout`` after ``canonicalization_timeout_seconds``; the catalogue then admits as usual."""
    p = world.participant
    vp = {
        "@context": "https://www.w3.org/2018/credentials/v1",
        "type": "VerifiablePresentation",
        "verifiableCredential": [poison_credential(p.did, p.key, p.kid)],
    }
    async with catalogue_factory(
        "poison", canonicalization_timeout_seconds=1.0, shapes_versions=["25.11", "22.10"]
    ) as cat:
        started = time.monotonic()
        response = await cat.client.post(
            "/api/v1/self-descriptions", content=json.dumps(vp), headers={"Content-Type": "application/ld+json"}
        )
        assert time.monotonic() - started < 1.0 + 30.0  # generous: shapes, keys and the kill
        assert response.status_code == 422, response.text
        codes = {c["code"] for c in response.json()["checks"]}
        assert "canonicalization-timeout" in codes
        status, body = await _submit(cat, world.vp_jwt())
        assert status == 201, body
        assert body["status"] == "admitted"
