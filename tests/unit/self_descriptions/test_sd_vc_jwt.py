"""VC-JWT / VP-JWT round trips for every key type and header profile, and the rejection reasons."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.jose import b64url_decode, b64url_encode, parse_compact, sign_compact
from self_descriptions.proofs.vc_jwt import GXDCH_2025, ICAM_2407, PROFILES, data_url, sign_vc_jwt
from self_descriptions.verify import VerificationError, verify_credential, verify_presentation
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.unit


async def _verify(world: World, token: str, **kw: object) -> object:
    return await verify_credential(
        token, resolver=world.resolver(), trust_anchors=world.anchors, now=world.now, x5u_fetcher=world.fetcher(), **kw
    )


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
async def test_vc_jwt_round_trip_every_key_type_and_profile(any_world: World, profile: object) -> None:
    legal_person = any_world.self_description.legal_person
    token = any_world.sign(legal_person, profile)  # type: ignore[arg-type]
    result = await _verify(any_world, token)
    assert result.signature == "valid"
    assert result.trust == "valid"
    assert result.validity == "valid"
    assert result.issuer == any_world.participant.did  # type: ignore[attr-defined]
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header["typ"] == profile.vc_typ
    assert header["cty"] == profile.vc_cty
    assert header["iss"] == any_world.participant.did
    assert header["kid"] == any_world.participant.kid
    payload = json.loads(b64url_decode(token.split(".")[1]))
    assert payload["iss"] == any_world.participant.did
    assert "vc" not in payload


async def test_gxdch_profiles_put_millisecond_times_in_the_header(world: World) -> None:
    for profile in (ICAM_2407, GXDCH_2025):
        token = world.sign(world.self_description.issuer, profile)
        header = parse_compact(token).header
        assert header["iat"] == int(world.now.timestamp() * 1000)
        assert (await _verify(world, token)).ok


async def test_vp_jwt_with_enveloped_credentials_verifies(world: World) -> None:
    result = await verify_presentation(
        world.vp_jwt(),
        resolver=world.resolver(),
        trust_anchors=world.anchors,
        now=world.now,
        x5u_fetcher=world.fetcher(),
    )
    assert result.presentation is not None
    assert result.presentation.ok
    assert len(result.credentials) == len(world.self_description.all())
    assert {c.issuer for c in result.credentials} == {world.participant.did, world.notary.did}


async def test_data_url_input_is_accepted(world: World) -> None:
    token = world.sign(world.self_description.issuer)
    assert (await _verify(world, data_url(token))).ok
    assert (await _verify(world, data_url(token, "application/vc+ld+json+jwt"))).ok


async def test_alg_none_is_rejected(world: World) -> None:
    token = world.sign(world.self_description.issuer)
    header = b64url_encode(json.dumps({"alg": "none", "kid": world.participant.kid}).encode())
    forged = f"{header}.{token.split('.')[1]}."
    with pytest.raises(VerificationError) as info:
        await _verify(world, forged)
    assert info.value.code == "alg-none"


@pytest.mark.parametrize("member", ["jwk", "jku", "x5c"])
async def test_embedded_keys_are_rejected(world: World, member: str) -> None:
    header = {
        "alg": "ES256",
        "typ": "vc+jwt",
        "iss": world.participant.did,
        "kid": world.participant.kid,
        member: {"kty": "EC"} if member == "jwk" else "https://attacker.example/k",
    }
    with pytest.raises(SelfDescriptionError) as info:
        sign_compact(header, b"{}", world.participant.key)
    assert getattr(info.value, "code", None) == "embedded-key"


async def test_alg_mismatch_with_published_jwk_is_rejected(world: World) -> None:
    # an RS256 header on a PS256 key (same kty, different published alg)
    from tests.fixtures.self_descriptions.world import world_for

    rsa_world = world_for("PS256")
    payload = dict(rsa_world.self_description.issuer)
    from self_descriptions.keys import KeyPair

    rs_key = KeyPair(rsa_world.participant.key.jwk, "RS256")
    token = sign_vc_jwt(payload, rs_key, kid=rsa_world.participant.kid)
    with pytest.raises(VerificationError) as info:
        await _verify(rsa_world, token)
    assert info.value.code == "alg-mismatch"


async def test_issuer_must_match_iss(world: World) -> None:
    other = dict(world.self_description.issuer)
    # signed by the notary but claiming the participant as issuer
    with pytest.raises(SelfDescriptionError) as info:
        sign_vc_jwt(other, world.notary.key, kid=world.notary.kid)
    assert getattr(info.value, "code", None) == "issuer-mismatch"
    header = {"alg": "ES256", "typ": "vc+jwt", "cty": "vc", "iss": world.notary.did, "kid": world.notary.kid}
    from self_descriptions.canonical import jcs

    forged = sign_compact(header, jcs(other), world.notary.key)
    with pytest.raises(VerificationError) as err:
        await _verify(world, forged)
    assert err.value.code == "issuer-mismatch"


async def test_unknown_did_is_unverifiable_not_valid(world: World) -> None:
    from self_descriptions.did import OfflineDidResolver

    token = world.sign(world.self_description.issuer)
    with pytest.raises(VerificationError) as info:
        await verify_credential(token, resolver=OfflineDidResolver(), trust_anchors=None, now=world.now)
    assert info.value.code == "unverifiable"
    assert info.value.assessment is not None
    assert info.value.assessment.signature == "unverifiable"


async def test_expiry_and_not_yet_valid(world: World) -> None:
    token = world.sign(world.self_description.issuer)
    with pytest.raises(VerificationError) as late:
        await verify_credential(
            token, resolver=world.resolver(), trust_anchors=None, now=world.now + dt.timedelta(days=120)
        )
    assert late.value.code == "expired"
    with pytest.raises(VerificationError) as early:
        await verify_credential(
            token, resolver=world.resolver(), trust_anchors=None, now=world.now - dt.timedelta(days=2)
        )
    assert early.value.code == "not-yet-valid"


async def test_untrusted_chain_is_reported(world: World) -> None:
    from self_descriptions.certificates import create_development_pki

    token = world.sign(world.self_description.issuer)
    other_root = create_development_pki(now=world.now - dt.timedelta(days=1)).root
    with pytest.raises(VerificationError) as info:
        await verify_credential(
            token, resolver=world.resolver(), trust_anchors=[other_root], now=world.now, x5u_fetcher=world.fetcher()
        )
    assert info.value.code == "untrusted"
    assert info.value.assessment is not None
    assert info.value.assessment.signature == "valid"


async def test_trust_not_checked_without_anchors(world: World) -> None:
    result = await verify_credential(
        world.sign(world.self_description.issuer), resolver=world.resolver(), trust_anchors=None, now=world.now
    )
    assert result.trust == "not-checked"
    assert result.ok


@pytest.mark.parametrize(
    "bad",
    ["", "not a jwt", "a.b", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.@@@", "data:text/plain,abc", "{not json", "[1,2]"],
)
async def test_malformed_inputs_give_clear_errors(world: World, bad: str) -> None:
    with pytest.raises(VerificationError) as info:
        await _verify(world, bad)
    assert info.value.code
    assert info.value.message
