"""Canonicalization guards (limits, control characters, unknown contexts) and tamper resistance (Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from self_descriptions.canonical import (
    CanonicalizationError,
    LimitExceeded,
    Limits,
    canonicalize,
    check_limits,
    jcs,
)
from self_descriptions.errors import ContextNotAllowed
from self_descriptions.proofs.jose import b64url_decode, b64url_encode
from self_descriptions.verify import VerificationError, verify_credential
from tests.fixtures.self_descriptions.world import World, world_for

pytestmark = pytest.mark.unit


def test_unknown_context_is_rejected_without_network() -> None:
    with pytest.raises(ContextNotAllowed):
        canonicalize({"@context": "https://attacker.example/context.jsonld", "@id": "urn:x", "name": "y"})


def test_control_characters_are_rejected() -> None:
    with pytest.raises(CanonicalizationError) as info:
        canonicalize({"@context": {"@vocab": "https://e.example/"}, "@id": "urn:x", "name": "bell\x07"})
    assert info.value.code == "control-character"


def test_limits_on_depth_size_and_blank_nodes() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["n"] = {}
        node = node["n"]
    with pytest.raises(LimitExceeded):
        check_limits(deep)
    with pytest.raises(LimitExceeded):
        check_limits({"a": "x" * 2_000_000})
    with pytest.raises(LimitExceeded):
        check_limits({"a": [{"b": 1} for _ in range(50)]}, Limits(max_blank_nodes=10))


def test_labelled_blank_nodes_count_once_per_label() -> None:
    """``"@id": "_:x"`` names a blank node too: a document cannot dodge the count by labelling its blank nodes."""
    chain = {"@graph": [{"@id": f"_:b{i}", "p": {"@id": f"_:b{i + 1}"}} for i in range(20)]}
    with pytest.raises(LimitExceeded):
        check_limits(chain, Limits(max_blank_nodes=10))
    loop = {"@graph": [{"@id": "_:b0", "p": {"@id": "_:b0"}} for _ in range(20)]}
    check_limits(loop, Limits(max_blank_nodes=10))  # one blank node, mentioned 40 times


def test_jcs_orders_keys_and_formats_numbers() -> None:
    assert jcs({"b": 1, "a": [1.5, 1e21, 0.000001, "é"]}) == '{"a":[1.5,1e+21,0.000001,"é"],"b":1}'.encode()


def _mutate(value: Any, path: list[int], replacement: str) -> Any:
    """Replace one leaf chosen by ``path`` (indices into sorted keys / list positions) with ``replacement``."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement if value != replacement else replacement + "x"
    if isinstance(value, dict):
        keys = sorted(value)
        key = keys[path[0] % len(keys)]
        return {**value, key: _mutate(value[key], path[1:], replacement)}
    index = path[0] % len(value)
    return [*value[:index], _mutate(value[index], path[1:], replacement), *value[index + 1 :]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6), text=st.text(min_size=1, max_size=8)
)
async def test_any_payload_change_is_rejected(path: list[int], text: str) -> None:
    world = world_for("ES256")
    token = world.sign(world.self_description.legal_person)
    header, payload, signature = token.split(".")
    document = json.loads(b64url_decode(payload))
    tampered = _mutate(document, path, text)
    forged = f"{header}.{b64url_encode(jcs(tampered))}.{signature}"
    with pytest.raises(VerificationError) as info:
        await verify_credential(forged, resolver=world.resolver(), trust_anchors=None, now=world.now)
    assert info.value.code in {
        "bad-signature",
        "issuer-mismatch",
        "bad-datetime",
        "expired",
        "not-yet-valid",
        "malformed-json",
        "limit-exceeded",
        "control-character",
    }


@settings(max_examples=30, deadline=None)
@given(member=st.sampled_from(["alg", "typ", "kid", "iss", "cty", "extra"]), value=st.text(max_size=12))
async def test_any_header_change_is_rejected(member: str, value: str) -> None:
    world = world_for("ES256")
    token = world.sign(world.self_description.issuer)
    header_b64, payload, signature = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get(member) == value:
        value += "x"
    header[member] = value
    forged = f"{b64url_encode(json.dumps(header).encode())}.{payload}.{signature}"
    with pytest.raises(VerificationError):
        await verify_credential(forged, resolver=world.resolver(), trust_anchors=None, now=world.now)


@settings(max_examples=20, deadline=None)
@given(position=st.integers(min_value=0, max_value=63), bit=st.integers(min_value=0, max_value=7))
async def test_any_signature_bit_flip_is_rejected(position: int, bit: int) -> None:
    world = world_for("ES256")
    token = world.sign(world.self_description.issuer)
    header, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[position % len(raw)] ^= 1 << bit
    forged = f"{header}.{payload}.{b64url_encode(bytes(raw))}"
    with pytest.raises(VerificationError) as info:
        await verify_credential(forged, resolver=world.resolver(), trust_anchors=None, now=world.now)
    assert info.value.code == "bad-signature"


async def test_a_different_key_in_the_did_document_is_rejected(world: World) -> None:
    from self_descriptions.did import OfflineDidResolver

    token = world.sign(world.self_description.issuer)
    impostor = world_for("EdDSA").participant.document  # same DID, another key
    with pytest.raises(VerificationError) as info:
        await verify_credential(token, resolver=OfflineDidResolver([impostor]), trust_anchors=None, now=world.now)
    assert info.value.code in {"alg-mismatch", "bad-signature"}
