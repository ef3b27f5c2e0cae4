"""Usage ledger: chained, signed records; every edit, removal or reordering is detected."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.dataplane.ledger import (
    GENESIS,
    LedgerEntry,
    LedgerError,
    LedgerRecord,
    canonical_json,
    seal,
    verify_records,
)
from self_descriptions.keys import generate_key

pytestmark = pytest.mark.unit

KEY = generate_key("ES256")
OTHER = generate_key("ES256")
T0 = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)


def chain(n: int) -> list[LedgerRecord]:
    out: list[LedgerRecord] = []
    prev = GENESIS
    for i in range(n):
        entry = LedgerEntry(
            kind="access",
            at=T0 + dt.timedelta(seconds=i),
            agreement_id="urn:uuid:a1",
            transfer_id=f"urn:uuid:t{i}",
            counterparty="did:web:consumer.example.com",
            data={"decision": "permit", "bytes": 1000 * i, "digest": f"sha-256={i}"},
        )
        record = seal(entry, seq=i + 1, prev=prev, key=KEY)
        out.append(record)
        prev = record.digest
    return out


def test_intact_chain_verifies() -> None:
    records = chain(5)
    result = verify_records(records, KEY.jwk)
    assert result.records == 5
    assert result.head_seq == 5
    assert result.head_digest == records[-1].digest


def test_empty_chain_verifies() -> None:
    assert verify_records([], KEY.jwk).head_digest == GENESIS


def test_other_key_rejected() -> None:
    with pytest.raises(LedgerError, match="invalid signature"):
        verify_records(chain(2), OTHER.jwk)


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 4), field=st.sampled_from(["kind", "at", "agreement_id", "counterparty", "data"]))
def test_any_edit_is_detected(index: int, field: str) -> None:
    records = chain(5)
    value: object = {"decision": "deny"} if field == "data" else "tampered"
    records[index] = dataclasses.replace(records[index], **{field: value})
    with pytest.raises(LedgerError, match=f"record {index + 1} was modified"):
        verify_records(records, KEY.jwk)


@settings(max_examples=20, deadline=None)
@given(index=st.integers(0, 3))
def test_removal_is_detected(index: int) -> None:
    records = chain(5)
    del records[index]
    with pytest.raises(LedgerError, match="removed or reordered"):
        verify_records(records, KEY.jwk)


def test_reordering_is_detected() -> None:
    records = chain(4)
    records[1], records[2] = records[2], records[1]
    with pytest.raises(LedgerError, match="removed or reordered"):
        verify_records(records, KEY.jwk)


def test_rehashed_edit_fails_on_signature() -> None:
    """An attacker who recomputes the digest after an edit still cannot sign it."""
    records = chain(1)
    edited = dataclasses.replace(records[0], data={"decision": "permit", "bytes": 1})
    forged = dataclasses.replace(edited, digest=hashlib.sha256(canonical_json(edited.content())).hexdigest())
    with pytest.raises(LedgerError, match="invalid signature"):
        verify_records([forged], KEY.jwk)


def test_floats_refused() -> None:
    with pytest.raises(LedgerError, match="floats"):
        seal(LedgerEntry(kind="x", at=T0, data={"ratio": 0.5}), seq=1, prev=GENESIS, key=KEY)


def test_canonical_json_is_key_sorted_and_compact() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
