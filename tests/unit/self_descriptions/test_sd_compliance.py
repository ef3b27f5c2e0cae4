"""Compliance checks over a participant VP, the LabelCredential, and digest binding in every convention."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from self_descriptions.canonical import jcs, sha256_hex, sri, tagus_integrity
from self_descriptions.compliance import (
    ComplianceError,
    check_compliance,
    issue_compliance_credential,
    match_compliance_entries,
)
from self_descriptions.proofs.jose import decode_json_payload, parse_compact
from self_descriptions.verify import verify_credential
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.unit


async def _check(world: World, vp: str, **kw: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {
        "resolver": world.resolver(),
        "trust_anchors": world.anchors,
        "trusted_notaries": [world.notary.did],
        "now": world.now,
        "x5u_fetcher": world.fetcher(),
    }
    options.update(kw)
    return await check_compliance(vp, **options)  # type: ignore[arg-type]


async def test_built_participant_vp_is_compliant_and_gets_a_label_credential(world: World) -> None:
    verdict = await _check(world, world.vp_jwt())
    assert verdict.compliant, [c.message for c in verdict.failures]
    assert verdict.shapes is not None
    assert verdict.shapes.focus_nodes > 0
    label = issue_compliance_credential(
        verdict,
        key=world.clearing_house.key,
        kid=world.clearing_house.kid,
        now=world.now,
        credential_id="https://compliance.example/vc/1",
    )
    result = await verify_credential(
        label, resolver=world.resolver(), trust_anchors=world.anchors, now=world.now, x5u_fetcher=world.fetcher()
    )
    assert "gx:LabelCredential" in result.types
    covered = [(c.document, c.raw_payload) for c in verdict.assessment.credentials]
    binding = match_compliance_entries(result.document, covered)
    assert binding.ok
    assert len(binding.bindings) == len(covered)
    # our payload bytes are JCS without proof, so both SRI conventions give the same digest
    assert {b.convention for b in binding.bindings} <= {"sri-jwt-payload", "sri-jcs-without-proof"}


async def test_every_failed_check_is_listed(world: World) -> None:
    sd = world.self_description
    issuer = copy.deepcopy(sd.issuer)
    issuer["credentialSubject"]["gx:gaiaxTermsAndConditions"] = "0" * 64
    tokens = [world.sign(sd.legal_person), world.sign(issuer)]  # no registration number, bad T&C
    verdict = await _check(world, world.vp_jwt(tokens), trusted_notaries=[])
    assert not verdict.compliant
    names = {c.name for c in verdict.failures}
    assert {"registration-number", "terms-and-conditions", "shapes"} <= names
    with pytest.raises(ComplianceError):
        issue_compliance_credential(verdict, key=world.clearing_house.key, kid=world.clearing_house.kid, now=world.now)


async def test_untrusted_notary_fails(world: World) -> None:
    verdict = await _check(world, world.vp_jwt(), trusted_notaries=["did:web:other-notary.example"])
    assert [c.name for c in verdict.failures] == ["trusted-notary"]


async def test_expired_presentation_fails_validity(world: World) -> None:
    verdict = await _check(world, world.vp_jwt(), now=world.now + dt.timedelta(days=2))
    assert "validity" in {c.name for c in verdict.failures}


def test_binding_accepts_tagus_loire_and_sri_conventions() -> None:
    vc = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": "urn:a",
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "urn:a#cs"},
        "proof": {"type": "JsonWebSignature2020", "jws": "x..y"},
    }
    raw = b'{ "id": "urn:b" }'  # not JCS: only the raw-payload convention matches
    other = {"id": "urn:b"}
    without = {k: v for k, v in vc.items() if k != "proof"}
    compliance = {
        "credentialSubject": [
            {
                "type": "gx:compliance",
                "id": "urn:wrong-id",
                "gx:integrity": tagus_integrity(vc).upper().replace("SHA", "sha"),
            },
            {"gx:evidence": [{"gx:integrity": "sha256-" + sha256_hex(raw)}]},
            {"gx:compliantCredentials": [{"digestSRI": sri(jcs(without))}]},
            {"gx:compliantCredentials": [{"cred:digestSRI": {"@value": sri(b"nothing"), "@type": "cred:sriString"}}]},
        ]
    }
    report = match_compliance_entries(compliance, [(vc, None), (other, raw)])
    assert [b.credential for b in report.bindings] == [0, 1, 0, None]
    assert report.bindings[0].convention == "tagus-jcs-with-proof"
    assert report.bindings[1].convention == "jwt-payload-hex"
    assert not report.ok
    assert len(report.unmatched) == 1


async def test_label_credential_header_carries_iss_and_times(world: World) -> None:
    verdict = await _check(world, world.vp_jwt())
    label = issue_compliance_credential(
        verdict, key=world.clearing_house.key, kid=world.clearing_house.kid, now=world.now
    )
    jws = parse_compact(label)
    assert jws.header["iss"] == world.clearing_house.did
    assert decode_json_payload(jws)["exp"] > decode_json_payload(jws)["iat"]
