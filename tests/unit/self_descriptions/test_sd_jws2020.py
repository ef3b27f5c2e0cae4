"""JsonWebSignature2020 (Tagus) in both flavours, wizard-style DIDs, and which flavour matched."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from self_descriptions.did import OfflineDidResolver, VerificationKey, build_did_document
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import generate_key
from self_descriptions.proofs.jose import JoseError
from self_descriptions.proofs.jws2020 import sign_jws2020, verify_jws2020
from self_descriptions.verify import VerificationError, verify_credential, verify_presentation
from self_descriptions.wizard import Base58PemDidResolver, b58decode, b58encode, wizard_did
from tests.fixtures.self_descriptions.world import World, tagus_participant

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("flavour", ["gaia-x", "specification"])
async def test_both_flavours_round_trip_and_report_the_flavour(any_world: World, flavour: str) -> None:
    w = any_world
    signed = sign_jws2020(
        tagus_participant(w.participant.did),
        w.participant.key,
        verification_method=w.participant.kid,
        created="2026-02-01T08:58:08.438Z",
        flavour=flavour,
    )  # type: ignore[arg-type]
    assert signed["proof"]["jws"].split(".")[1] == ""  # detached
    result = await verify_credential(
        signed, resolver=w.resolver(), trust_anchors=w.anchors, now=w.now, x5u_fetcher=w.fetcher()
    )
    assert result.flavour == flavour
    assert result.format == "jsonld"
    assert result.trust == "valid"


async def test_gaia_x_flavour_does_not_verify_under_specification_only(world: World) -> None:
    signed = sign_jws2020(
        tagus_participant(world.participant.did),
        world.participant.key,
        verification_method=world.participant.kid,
        created="2026-02-01T00:00:00Z",
    )
    jwk = world.participant.key.public_jwk()
    assert verify_jws2020(signed, jwk) == "gaia-x"
    with pytest.raises(JoseError):
        verify_jws2020(signed, jwk, flavours=("specification",))


async def test_changing_a_claim_after_signing_breaks_both_flavours(world: World) -> None:
    signed = sign_jws2020(
        tagus_participant(world.participant.did),
        world.participant.key,
        verification_method=world.participant.kid,
        created="2026-02-01T00:00:00Z",
    )
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["gx:legalName"] = "Evil Corp"
    with pytest.raises(VerificationError) as info:
        await verify_credential(tampered, resolver=world.resolver(), trust_anchors=None, now=world.now)
    assert info.value.code == "bad-signature"


async def test_undefined_terms_are_rejected_not_silently_dropped(world: World) -> None:
    doc = tagus_participant(world.participant.did)
    doc["credentialSubject"]["legalName"] = "unprefixed, undefined in the Tagus context"  # type: ignore[index]
    with pytest.raises(SelfDescriptionError) as info:
        sign_jws2020(doc, world.participant.key, verification_method=world.participant.kid, created="2026-02-01")
    assert getattr(info.value, "code", None) == "undefined-term"


async def test_wizard_style_did_verifies_offline_with_gaia_x_flavour_only() -> None:
    key = generate_key("PS256")
    did = wizard_did(key.public_pem())
    assert b58decode(b58encode(b"\x00\x00abc")) == b"\x00\x00abc"
    signed = sign_jws2020(
        tagus_participant(did), key, verification_method=f"{did}#JWK2020", created="2023-07-12T08:58:08.438Z"
    )
    result = await verify_credential(
        signed, resolver=Base58PemDidResolver(), trust_anchors=None, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    )
    assert result.flavour == "gaia-x"
    assert result.signature == "valid"


async def test_tagus_presentation_without_proof_verifies_each_credential(world: World) -> None:
    vc = sign_jws2020(
        tagus_participant(world.participant.did),
        world.participant.key,
        verification_method=world.participant.kid,
        created="2026-02-01T00:00:00Z",
    )
    vp = {
        "@context": "https://www.w3.org/2018/credentials/v1",
        "type": "VerifiablePresentation",
        "verifiableCredential": [vc],
    }
    result = await verify_presentation(
        vp, resolver=world.resolver(), trust_anchors=world.anchors, now=world.now, x5u_fetcher=world.fetcher()
    )
    assert result.presentation is None
    assert result.credentials[0].flavour == "gaia-x"


async def test_key_not_in_assertion_method_is_unverifiable(world: World) -> None:
    key = generate_key("ES256")
    did = "did:web:auth-only.example"
    doc = build_did_document(did, [VerificationKey("key-1", key.public_jwk(), relationships=("authentication",))])
    signed = sign_jws2020(tagus_participant(did), key, verification_method=f"{did}#key-1", created="2026-02-01")
    with pytest.raises(VerificationError) as info:
        await verify_credential(signed, resolver=OfflineDidResolver([doc]), trust_anchors=None, now=world.now)
    assert info.value.code == "unverifiable"
