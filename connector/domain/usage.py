"""Usage control records (issue 6): the usage ledger, use reservations, claims snapshots and duties.

- :class:`SealedRecord` is one stored record of the hash-chained, signed usage ledger (the chain and signature are
  made and checked by :mod:`connector.dataplane.ledger`; the store only keeps them in ``seq`` order).
- :class:`UsageRecord` is one use of an agreement's data: *reserved* when an access is permitted, *completed*
  when the last byte was sent, *interrupted* when the client went away after data left (not a completed use, but
  counted: otherwise a consumer could read most of the data again and again by hanging up before the end), and
  *aborted* (released, not counted) when it went away before any byte was sent. A reservation left by a crash stays
  *reserved* and is counted, so counters never under-count (odrl.md §4, ``count``).
- :class:`ClaimsSnapshot` keeps the consumer's verified claims seen last, for the policy monitor.
- :class:`Obligation` is a duty of an agreement tracked through its life (ODRL IM §2.6: not-set, fulfilled,
  violated).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject

UsageState = Literal["reserved", "completed", "interrupted", "aborted"]
DutyState = Literal["not-set", "fulfilled", "violated"]


class SealedRecord(Entity):
    """A sealed ledger record exactly as signed (``at`` is kept as the signed string)."""

    seq: int = Field(ge=1)
    kind: str = Field(min_length=1)
    at: str
    agreement_id: str | None = None
    transfer_id: str | None = None
    counterparty: str | None = None
    data: JsonObject = Field(default_factory=dict)
    prev: str
    digest: str
    signature: str


class UsageRecord(Entity):
    """One use (a pull or a push) of the data of an agreement."""

    id: str = Field(min_length=1)
    agreement_id: str
    transfer_id: str
    consumer: str
    state: UsageState = "reserved"
    purpose: str | None = None
    bytes: int = Field(default=0, ge=0)
    digest: str | None = None
    created_at: AwareDatetime
    finished_at: AwareDatetime | None = None


class ClaimsSnapshot(Entity):
    """The verified claims of a transfer's consumer, as last seen (at the request or on a pull with identity)."""

    transfer_id: str = Field(min_length=1)
    consumer: str
    claims: JsonObject
    seen_at: AwareDatetime


class Obligation(Entity):
    """A duty of an agreement followed through its life, on the provider's or the consumer's side."""

    id: str = Field(min_length=1)
    agreement_id: str
    transfer_id: str | None = None
    #: ``provider`` or ``consumer``: whose connector tracks it.
    side: Literal["provider", "consumer"]
    #: The duty's action (``notify``, ``log``, ``delete``, ``compensate``, ...), as an ODRL name or IRI.
    action: str
    state: DutyState = "not-set"
    due_at: AwareDatetime | None = None
    details: JsonObject = Field(default_factory=dict)
    created_at: AwareDatetime
    updated_at: AwareDatetime
