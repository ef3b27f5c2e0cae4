"""W3C Bitstring Status List v1.0: bit order and encoding (§2.2, §7.1), entries (§2.1), the validate algorithm (§3.2)
with real signatures and an offline fetcher, and the rejections with their stable codes."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from self_descriptions.proofs.jose import b64url_decode, b64url_encode
from self_descriptions.proofs.vc_jwt import format_datetime, sign_vc_jwt
from self_descriptions.status_list import (
    MIN_ENTRIES,
    STATUS_LIST_LEEWAY,
    Bitstring,
    MalformedStatusError,
    OfflineStatusListFetcher,
    StatusError,
    StatusListLengthError,
    StatusRangeError,
    build_status_list_credential,
    check_status,
    status_entries,
    status_entry,
)
from self_descriptions.verify import (
    VerificationContext,
    VerificationError,
    assess_presentation,
    make_context,
    verify_credential,
)
from tests.fixtures.self_descriptions.world import Party, World

pytestmark = pytest.mark.unit

#: The encodedList of the §2.2 / Appendix A.2 example: 131,072 bits, all zero.
SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
REVOCATION = "https://notary.example/status/revocation"
SUSPENSION = "https://notary.example/status/suspension"


# --- bitstring ----------------------------------------------------------------------------------------------


def test_the_spec_example_decodes_to_131072_zero_bits() -> None:
    bits = Bitstring.decode(SPEC_EXAMPLE)
    assert bits.length == MIN_ENTRIES
    assert bits.to_bytes() == bytes(MIN_ENTRIES // 8)


def test_index_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    bits = Bitstring.zeros()
    bits.set(0)
    bits.set(9)
    bits.set(MIN_ENTRIES - 1)
    raw = bits.to_bytes()
    assert raw[0] == 0b1000_0000
    assert raw[1] == 0b0100_0000
    assert raw[-1] == 0b0000_0001
    assert [bits.get(i) for i in (0, 1, 8, 9, MIN_ENTRIES - 1)] == [1, 0, 0, 1, 1]
    bits.set(9, 0)
    assert bits.to_bytes()[1] == 0


def test_multi_bit_entries_are_read_most_significant_bit_first() -> None:
    bits = Bitstring.zeros()
    bits.set(1, 0b10, size=2)  # bits 2 and 3
    assert bits.to_bytes()[0] == 0b0010_0000
    assert bits.get(1, size=2) == 2
    with pytest.raises(ValueError, match="does not fit"):
        bits.set(0, 4, size=2)


def test_encoding_is_multibase_base64url_without_padding_of_gzip() -> None:
    bits = Bitstring.zeros(MIN_ENTRIES + 5)  # rounded up to whole bytes
    assert bits.length == MIN_ENTRIES + 8
    bits.set(42)
    encoded = bits.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert not {"+", "/"} & set(encoded)
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bits.to_bytes()
    assert bits.encode() == encoded, "the same bits encode identically (mtime 0)"


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=50))
def test_encode_decode_round_trip(indexes: set[int]) -> None:
    bits = Bitstring.zeros()
    for i in indexes:
        bits.set(i)
    decoded = Bitstring.decode(bits.encode())
    assert decoded.to_bytes() == bits.to_bytes()
    assert {i for i in range(0, MIN_ENTRIES) if decoded.get(i)} == indexes


@pytest.mark.parametrize(
    "encoded",
    [
        SPEC_EXAMPLE[1:],  # no multibase prefix
        SPEC_EXAMPLE + "==",  # padding
        "u" + b64url_encode(b"not gzip at all"),
        "u" + b64url_encode(gzip.compress(bytes(100))[:-6]),  # truncated
        "u" + b64url_encode(gzip.compress(bytes(10)) + b"junk"),
        "uA",  # impossible base64 length
        42,
    ],
)
def test_malformed_encoded_lists_are_rejected(encoded: Any) -> None:
    with pytest.raises(MalformedStatusError) as info:
        Bitstring.decode(encoded)
    assert info.value.code == "malformed-status"
    assert info.value.spec_error == "MALFORMED_VALUE_ERROR"


def test_decompression_is_capped() -> None:
    bomb = "u" + b64url_encode(gzip.compress(bytes(64 * 1024 * 1024)))  # 64 MiB of zeros in ~64 KB
    assert len(bomb) < 100_000
    with pytest.raises(StatusListLengthError) as info:
        Bitstring.decode(bomb)
    assert info.value.code == "status-list-too-large"
    with pytest.raises(StatusListLengthError):
        Bitstring.decode(Bitstring.zeros().encode(), max_bytes=1024)


def test_a_status_list_has_at_least_131072_entries() -> None:
    with pytest.raises(StatusListLengthError):
        build_status_list_credential(
            url=REVOCATION,
            issuer="did:web:x",
            purpose="revocation",
            bits=Bitstring.zeros(MIN_ENTRIES - 8),
            valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )


# --- entries ------------------------------------------------------------------------------------------------


def test_entries_single_or_array() -> None:
    one = status_entry(REVOCATION, 7, "revocation")
    assert one["id"] != REVOCATION
    (entry,) = status_entries({"credentialStatus": one})
    assert (entry.purpose, entry.index, entry.list_url, entry.size) == ("revocation", 7, REVOCATION, 1)
    both = status_entries({"credentialStatus": [one, status_entry(SUSPENSION, 9, "suspension")]})
    assert [e.purpose for e in both] == ["revocation", "suspension"]
    assert status_entries({}) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"statusListIndex": 7}, "malformed-status"),  # a number, not a string
        ({"statusListIndex": "-1"}, "malformed-status"),
        ({"statusListIndex": "07"}, "malformed-status"),
        ({"statusPurpose": None}, "malformed-status"),
        ({"statusListCredential": "not a url"}, "malformed-status"),
        ({"statusSize": 0}, "malformed-status"),
        ({"statusSize": 2}, "malformed-status"),  # statusMessage is then required
        ({"id": REVOCATION}, "malformed-status"),
        ({"type": "RevocationList2020Status"}, "unsupported-status"),
    ],
)
def test_malformed_entries_are_rejected(change: dict[str, Any], code: str) -> None:
    entry = {**status_entry(REVOCATION, 7, "revocation"), **change}
    with pytest.raises(StatusError) as info:
        status_entries({"credentialStatus": entry})
    assert info.value.code == code


# --- the validate algorithm with real signatures --------------------------------------------------------------


def _credential(world: World, issuer: Party, *entries: dict[str, Any]) -> str:
    vc: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "issuer": issuer.did,
        "validFrom": format_datetime(world.now - dt.timedelta(days=1)),
        "validUntil": format_datetime(world.now + dt.timedelta(days=30)),
        "credentialSubject": {"id": world.participant.did, "memberOf": "urn:ds"},
    }
    if entries:
        vc["credentialStatus"] = list(entries) if len(entries) > 1 else entries[0]
    return sign_vc_jwt(vc, issuer.key, kid=issuer.kid, issued_at=world.now)


def _status_list(
    world: World,
    signer: Party,
    url: str,
    purpose: str,
    *set_bits: int,
    bits: Bitstring | None = None,
    valid_until: dt.datetime | None = None,
    valid_from: dt.datetime | None = None,
    list_id: str | None = None,
) -> str:
    bits = bits or Bitstring.zeros()
    for i in set_bits:
        bits.set(i)
    vc = build_status_list_credential(
        url=url,
        issuer=signer.did,
        purpose=purpose,
        bits=bits,
        valid_from=valid_from or world.now - dt.timedelta(hours=1),
        valid_until=valid_until or world.now + dt.timedelta(days=1),
        ttl=dt.timedelta(seconds=10),
    )
    if list_id is not None:
        vc["id"] = list_id
    return sign_vc_jwt(vc, signer.key, kid=signer.kid, issued_at=valid_from or world.now)


def _ctx(world: World, **lists: str) -> VerificationContext:
    fetcher = OfflineStatusListFetcher({REVOCATION: lists["revocation"]} if "revocation" in lists else {})
    if "suspension" in lists:
        fetcher.add(SUSPENSION, lists["suspension"])
    ctx = make_context(
        resolver=world.resolver(), trust_anchors=world.anchors, now=world.now, x5u_fetcher=world.fetcher()
    )
    return dataclasses.replace(ctx, status_lists=fetcher)


async def _status_of(world: World, token: str, ctx: VerificationContext) -> str:
    assert ctx.status_lists is not None
    return (await check_status(_payload(token), ctx.status_lists, ctx)).status


def _payload(token: str) -> dict[str, Any]:
    return dict(json.loads(b64url_decode(token.split(".")[1])))


async def test_valid_revoked_and_suspended(world: World) -> None:
    issuer = world.notary
    token = _credential(
        world, issuer, status_entry(REVOCATION, 1234, "revocation"), status_entry(SUSPENSION, 99, "suspension")
    )
    clean = _ctx(
        world,
        revocation=_status_list(world, issuer, REVOCATION, "revocation", 1233, 1235),
        suspension=_status_list(world, issuer, SUSPENSION, "suspension", 98),
    )
    assert await _status_of(world, token, clean) == "valid"
    suspended = _ctx(
        world,
        revocation=_status_list(world, issuer, REVOCATION, "revocation"),
        suspension=_status_list(world, issuer, SUSPENSION, "suspension", 99),
    )
    assert await _status_of(world, token, suspended) == "suspended"
    revoked = _ctx(
        world,
        revocation=_status_list(world, issuer, REVOCATION, "revocation", 1234),
        suspension=_status_list(world, issuer, SUSPENSION, "suspension", 99),
    )
    result = await check_status(_payload(token), revoked.status_lists, revoked)  # type: ignore[arg-type]
    assert result.status == "revoked"
    assert result.deciding is not None
    assert result.deciding.entry.index == 1234
    # a credential without status entries cannot be revoked by a list
    assert await _status_of(world, _credential(world, issuer), clean) == "valid"


async def test_a_list_issued_while_the_verification_runs_is_believed(world: World) -> None:
    """``ctx.now`` is taken when verification starts; an issuer re-signing its list since then gives it a validFrom a
    moment later (the demo on PostgreSQL under load). Skew up to STATUS_LIST_LEEWAY is tolerated, no more."""
    issuer = world.notary
    token = _credential(world, issuer, status_entry(REVOCATION, 3, "revocation"))

    def issued_at(offset: dt.timedelta) -> str:
        return _status_list(world, issuer, REVOCATION, "revocation", valid_from=world.now + offset)

    assert await _status_of(world, token, _ctx(world, revocation=issued_at(dt.timedelta(seconds=2)))) == "valid"
    ctx = _ctx(world, revocation=issued_at(STATUS_LIST_LEEWAY + dt.timedelta(minutes=1)))
    with pytest.raises(StatusError, match="not valid now"):
        await _status_of(world, token, ctx)


async def test_statuslist2021_entries_and_lists_are_read_too(world: World) -> None:
    """The W3C CCG predecessor (VC 1.1 era issuers still emit it): other type names, ``encodedList`` in plain base64
    without the multibase prefix; the same bits."""
    issuer = world.notary
    entry = {**status_entry(REVOCATION, 42, "revocation"), "type": "StatusList2021Entry"}
    token = _credential(world, issuer, entry)

    def legacy_list(*set_bits: int) -> str:
        bits = Bitstring.zeros()
        for i in set_bits:
            bits.set(i)
        vc = build_status_list_credential(
            url=REVOCATION,
            issuer=issuer.did,
            purpose="revocation",
            bits=bits,
            valid_from=world.now - dt.timedelta(hours=1),
            valid_until=world.now + dt.timedelta(days=1),
        )
        vc["type"] = ["VerifiableCredential", "StatusList2021Credential"]
        encoded = vc["credentialSubject"]["encodedList"]
        plain = base64.b64encode(b64url_decode(encoded[1:])).decode("ascii")  # what the 2021 drafts wrote
        vc["credentialSubject"] = {**vc["credentialSubject"], "type": "StatusList2021", "encodedList": plain}
        return sign_vc_jwt(vc, issuer.key, kid=issuer.kid, issued_at=world.now)

    assert await _status_of(world, token, _ctx(world, revocation=legacy_list(41, 43))) == "valid"
    assert await _status_of(world, token, _ctx(world, revocation=legacy_list(42))) == "revoked"
    with pytest.raises(MalformedStatusError):
        Bitstring.decode(base64.b64encode(gzip.compress(bytes(16384))).decode())  # plain base64 only for 2021 lists


async def test_verify_credential_fails_a_revoked_credential_with_code_revoked(world: World) -> None:
    issuer = world.notary
    token = _credential(world, issuer, status_entry(REVOCATION, 5, "revocation"))
    lists = OfflineStatusListFetcher({REVOCATION: _status_list(world, issuer, REVOCATION, "revocation", 5)})
    kwargs: dict[str, Any] = {
        "resolver": world.resolver(),
        "trust_anchors": world.anchors,
        "now": world.now,
        "x5u_fetcher": world.fetcher(),
    }
    unchecked = await verify_credential(token, **kwargs)
    assert unchecked.status == "not-checked"
    with pytest.raises(VerificationError) as info:
        await verify_credential(token, status_lists=lists, **kwargs)
    assert info.value.code == "revoked"
    assert info.value.assessment is not None
    assert info.value.assessment.status == "revoked"
    assert REVOCATION in info.value.message


async def test_a_revoked_credential_in_a_presentation(world: World) -> None:
    issuer = world.notary
    revoked = _credential(world, issuer, status_entry(REVOCATION, 5, "revocation"))
    fine = _credential(world, issuer, status_entry(REVOCATION, 6, "revocation"))
    ctx = _ctx(world, revocation=_status_list(world, issuer, REVOCATION, "revocation", 5))
    result = await assess_presentation(world.vp_jwt([revoked, fine]), ctx)
    assert [c.status for c in result.credentials] == ["revoked", "valid"]
    assert [p.code for p in result.credentials[0].errors] == ["revoked"]
    assert result.credentials[1].ok
    assert not result.ok


def _tampered(token: str) -> str:
    head, _, signature = token.split(".")
    claims = _payload(token)
    claims["credentialSubject"]["encodedList"] = Bitstring.zeros().encode()  # "un-revoke" index 5
    return ".".join((head, b64url_encode(json.dumps(claims).encode()), signature))


@pytest.mark.parametrize(
    ("case", "code", "spec_error"),
    [
        ("tampered signature", "status-verification-error", "STATUS_VERIFICATION_ERROR"),
        ("wrong issuer", "status-verification-error", "STATUS_VERIFICATION_ERROR"),
        ("wrong purpose", "status-verification-error", "STATUS_VERIFICATION_ERROR"),
        ("expired list", "status-verification-error", "STATUS_VERIFICATION_ERROR"),
        ("list for another URL", "status-verification-error", "STATUS_VERIFICATION_ERROR"),
        ("index out of range", "status-range-error", "RANGE_ERROR"),
        ("too short", "status-list-length-error", "STATUS_LIST_LENGTH_ERROR"),
        ("oversized decompression", "status-list-too-large", "STATUS_LIST_LENGTH_ERROR"),
        ("not fetched", "status-retrieval-error", "STATUS_RETRIEVAL_ERROR"),
    ],
)
async def test_status_lists_that_must_not_be_believed(world: World, case: str, code: str, spec_error: str) -> None:
    issuer, index = world.notary, 5
    if case == "index out of range":
        index = MIN_ENTRIES
    token = _credential(world, issuer, status_entry(REVOCATION, index, "revocation"))
    signed = {
        "tampered signature": lambda: _tampered(_status_list(world, issuer, REVOCATION, "revocation", 5)),
        "wrong issuer": lambda: _status_list(world, world.clearing_house, REVOCATION, "revocation"),
        "wrong purpose": lambda: _status_list(world, issuer, REVOCATION, "suspension"),
        "expired list": lambda: _status_list(
            world, issuer, REVOCATION, "revocation", valid_until=world.now - dt.timedelta(minutes=5)
        ),
        "list for another URL": lambda: _status_list(world, issuer, REVOCATION, "revocation", list_id=SUSPENSION),
        "index out of range": lambda: _status_list(world, issuer, REVOCATION, "revocation"),
        "too short": lambda: _short_list(world, issuer),
        "oversized decompression": lambda: _bomb_list(world, issuer),
        "not fetched": lambda: None,
    }[case]()
    ctx = _ctx(world, **({"revocation": signed} if signed else {}))
    assert ctx.status_lists is not None
    with pytest.raises(StatusError) as info:
        await check_status(_payload(token), ctx.status_lists, ctx)
    assert info.value.code == code, info.value.message
    assert info.value.spec_error == spec_error
    assert info.value.type_url == f"https://www.w3.org/ns/credentials/status-list#{spec_error}"
    # and through verification: the credential is unverifiable, never valid
    with pytest.raises(VerificationError) as failed:
        await verify_credential(
            token,
            resolver=world.resolver(),
            trust_anchors=world.anchors,
            now=world.now,
            x5u_fetcher=world.fetcher(),
            status_lists=ctx.status_lists,
        )
    assert failed.value.code == code
    assert failed.value.assessment is not None
    assert failed.value.assessment.status == "unverifiable"


def _short_list(world: World, issuer: Party) -> str:
    vc = build_status_list_credential(
        url=REVOCATION,
        issuer=issuer.did,
        purpose="revocation",
        bits=Bitstring.zeros(),
        valid_from=world.now - dt.timedelta(hours=1),
    )
    vc["credentialSubject"]["encodedList"] = Bitstring.zeros(MIN_ENTRIES // 2).encode()
    return sign_vc_jwt(vc, issuer.key, kid=issuer.kid, issued_at=world.now)


def _bomb_list(world: World, issuer: Party) -> str:
    vc = build_status_list_credential(
        url=REVOCATION,
        issuer=issuer.did,
        purpose="revocation",
        bits=Bitstring.zeros(),
        valid_from=world.now - dt.timedelta(hours=1),
    )
    vc["credentialSubject"]["encodedList"] = "u" + b64url_encode(gzip.compress(bytes(32 * 1024 * 1024)))
    return sign_vc_jwt(vc, issuer.key, kid=issuer.kid, issued_at=world.now)


async def test_offline_fetcher_reads_files_and_rejects_garbage(world: World, tmp_path: Any) -> None:
    listed = tmp_path / "revocation.jwt"
    listed.write_text(_status_list(world, world.notary, REVOCATION, "revocation", 5) + "\n")
    fetcher = OfflineStatusListFetcher.from_files({REVOCATION: listed})
    assert isinstance(await fetcher.fetch(REVOCATION), str)
    bad = tmp_path / "bad.txt"
    bad.write_text("hello")
    with pytest.raises(StatusError) as info:
        OfflineStatusListFetcher.from_files({REVOCATION: bad})
    assert info.value.code == "status-retrieval-error"
    with pytest.raises(StatusError):
        OfflineStatusListFetcher.from_files({REVOCATION: tmp_path / "missing.jwt"})


def test_builder_output_is_the_spec_shape() -> None:
    vc = build_status_list_credential(
        url=REVOCATION,
        issuer="did:web:notary.example",
        purpose="revocation",
        bits=Bitstring.zeros(),
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ttl=dt.timedelta(seconds=10),
    )
    assert vc["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert vc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert vc["id"] == REVOCATION
    subject = vc["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert subject["ttl"] == 10_000
    assert Bitstring.decode(subject["encodedList"]).length == MIN_ENTRIES


def test_range_error_on_the_bitstring() -> None:
    with pytest.raises(StatusRangeError):
        Bitstring.zeros().get(MIN_ENTRIES)
    with pytest.raises(StatusRangeError):
        Bitstring.zeros().get(-1)
