"""The usage ledger: an append-only, hash-chained and signed record of every access decision and obligation action.

Each participant keeps its own ledger in its own database. A record's ``digest`` is the SHA-256 of the RFC 8785
(JCS) canonical JSON of its content including ``prev``, the digest of the record before it (64 zeros for the
first); ``signature`` is a detached compact JWS (RFC 7515 Appendix F) by the participant key over the digest. So:

- editing any field changes the digest (detected: digest mismatch, then signature mismatch if re-hashed);
- removing or reordering a record breaks ``seq`` continuity and the ``prev`` links (detected);
- re-writing the whole chain needs the private key (the signature binds every record to the participant);
- truncating the tail is only detectable against a head digest someone else saw; the provider therefore reports
  its head (``seq`` + ``digest``) to the consumer with each data response so both sides can anchor each other.

Record content is restricted to JSON without floats (integers, strings, booleans, null, lists, objects with string
keys), for which ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` *is* JCS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from connector.domain import SealedRecord
from connector.errors import ConnectorError
from self_descriptions.keys import KeyPair

GENESIS = "0" * 64


class LedgerError(ConnectorError):
    """The ledger failed verification; the message names the first bad record and why."""

    code = "ledger-invalid"


@dataclass(frozen=True)
class LedgerEntry:
    """What a caller appends: the kind of event and its data (no floats)."""

    kind: str
    at: dt.datetime
    agreement_id: str | None = None
    transfer_id: str | None = None
    counterparty: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerRecord:
    """A stored, chained and signed ledger record."""

    seq: int
    kind: str
    at: str
    agreement_id: str | None
    transfer_id: str | None
    counterparty: str | None
    data: Mapping[str, Any]
    prev: str
    digest: str
    signature: str

    def content(self) -> dict[str, Any]:
        """The hashed content (everything but ``digest`` and ``signature``)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "agreementId": self.agreement_id,
            "transferId": self.transfer_id,
            "counterparty": self.counterparty,
            "data": dict(self.data),
            "prev": self.prev,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.content(), "digest": self.digest, "signature": self.signature}


def canonical_json(value: Any) -> bytes:
    """RFC 8785 JCS for float-free JSON (see module docstring); floats are refused rather than mis-serialised."""
    _reject_floats(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reject_floats(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise LedgerError(f"ledger data must not contain floats ({path}); use integers or strings")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise LedgerError(f"ledger object keys must be strings ({path})")
            _reject_floats(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _reject_floats(v, f"{path}[{i}]")


def seal(entry: LedgerEntry, *, seq: int, prev: str, key: KeyPair) -> LedgerRecord:
    """Chain ``entry`` after the record with digest ``prev`` (sequence ``seq``) and sign it with ``key``."""
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    unsigned = LedgerRecord(
        seq=seq,
        kind=entry.kind,
        at=at,
        agreement_id=entry.agreement_id,
        transfer_id=entry.transfer_id,
        counterparty=entry.counterparty,
        data=json.loads(canonical_json(dict(entry.data))),
        prev=prev,
        digest="",
        signature="",
    )
    digest = hashlib.sha256(canonical_json(unsigned.content())).hexdigest()
    token = jws.JWS(digest.encode("ascii"))
    token.add_signature(key.jwk, None, {"alg": key.alg})
    header, _, signature = str(token.serialize(compact=True)).split(".")
    return LedgerRecord(**{**unsigned.__dict__, "digest": digest, "signature": f"{header}..{signature}"})


@dataclass(frozen=True)
class LedgerVerification:
    """The result of a successful verification: how many records and the head digest."""

    records: int
    head_seq: int
    head_digest: str


def verify_records(
    records: Iterable[LedgerRecord], public_key: jwk.JWK, *, after: LedgerVerification | None = None
) -> LedgerVerification:
    """Check sequence continuity, the ``prev`` chain, every digest and every signature, in order.

    ``after`` continues a verification (the result for the records before), so a long ledger is checked page by
    page without loading it whole."""
    expected_seq, prev, count = 1, GENESIS, 0
    if after is not None:
        expected_seq, prev, count = after.head_seq + 1, after.head_digest, after.records
    for record in records:
        if record.seq != expected_seq:
            raise LedgerError(
                f"record {record.seq} found where record {expected_seq} was expected (removed or reordered records)"
            )
        if record.prev != prev:
            raise LedgerError(f"record {record.seq} does not link to its predecessor (removed or reordered records)")
        digest = hashlib.sha256(canonical_json(record.content())).hexdigest()
        if digest != record.digest:
            raise LedgerError(f"record {record.seq} was modified: its content does not match its digest")
        _verify_signature(record, public_key)
        prev, expected_seq, count = record.digest, expected_seq + 1, count + 1
    return LedgerVerification(records=count, head_seq=expected_seq - 1, head_digest=prev)


def _verify_signature(record: LedgerRecord, public_key: jwk.JWK) -> None:
    header, sep, signature = record.signature.partition("..")
    if not sep:
        raise LedgerError(f"record {record.seq} has a malformed signature")
    try:
        token = jws.JWS()
        token.deserialize(f"{header}..{signature}")
        alg = token.jose_header.get("alg")
        token.verify(public_key, alg=alg, detached_payload=record.digest.encode("ascii"))
    except (JWException, ValueError) as exc:
        raise LedgerError(f"record {record.seq} has an invalid signature") from exc


def stored(record: LedgerRecord) -> SealedRecord:
    """The store's form of a sealed record."""
    return SealedRecord(
        seq=record.seq,
        kind=record.kind,
        at=record.at,
        agreement_id=record.agreement_id,
        transfer_id=record.transfer_id,
        counterparty=record.counterparty,
        data=dict(record.data),
        prev=record.prev,
        digest=record.digest,
        signature=record.signature,
    )


def from_store(entry: SealedRecord) -> LedgerRecord:
    return LedgerRecord(
        seq=entry.seq,
        kind=entry.kind,
        at=entry.at,
        agreement_id=entry.agreement_id,
        transfer_id=entry.transfer_id,
        counterparty=entry.counterparty,
        data=entry.data,
        prev=entry.prev,
        digest=entry.digest,
        signature=entry.signature,
    )
