"""What the catalogue knows about a participant, as plain values (the store maps them to rows).

Status (``gaiax.md`` §9.1 lifecycle, made explicit): ``pending`` (compliant, waiting for an operator in manual
mode), ``admitted``, ``rejected`` (failed verification or refused by the operator), ``revoked`` (by the participant
or the operator), ``expired`` (a credential's ``validUntil``, a certificate's ``notAfter`` or the compliance
credential's expiry passed). Discovery shows a participant only while :meth:`Participant.visible` is true, which
also compares ``expires_at`` with the query time, so expiry takes effect before any sweep has run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LOCAL_ORIGIN = "local"


class Status(StrEnum):
    PENDING = "pending"
    ADMITTED = "admitted"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass
class Participant:
    did: str
    status: Status
    reason: str | None
    name: str | None
    current_submission: int | None
    expires_at: dt.datetime | None
    origin: str
    updated_at: dt.datetime
    crawl_endpoint: str | None = None
    crawled_at: dt.datetime | None = None
    crawl_error: str | None = None
    crawl_failures: int = 0

    def visible(self, now: dt.datetime) -> bool:
        """Shown in discovery: admitted and not past its expiry."""
        return self.status is Status.ADMITTED and (self.expires_at is None or now < self.expires_at)

    def effective_status(self, now: dt.datetime) -> Status:
        if self.status is Status.ADMITTED and self.expires_at is not None and now >= self.expires_at:
            return Status.EXPIRED
        return self.status

    def as_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "participant": self.did,
            "status": self.effective_status(now).value,
            "reason": self.reason,
            "name": self.name,
            "version": self.current_submission,
            "expiresAt": _iso(self.expires_at),
            "origin": self.origin,
            "updatedAt": _iso(self.updated_at),
            "crawl": {
                "endpoint": self.crawl_endpoint,
                "crawledAt": _iso(self.crawled_at),
                "error": self.crawl_error,
                "failures": self.crawl_failures,
            },
        }


@dataclass
class Submission:
    """One version of a participant's presentation with its latest verification report."""

    id: int
    participant: str
    version: int
    digest: str
    format: str
    presentation: str
    submitted_at: dt.datetime
    origin: str
    compliant: bool
    report: dict[str, Any]
    checked_at: dt.datetime
    expires_at: dt.datetime | None
    compliance_credential: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "digest": self.digest,
            "format": self.format,
            "submittedAt": _iso(self.submitted_at),
            "origin": self.origin,
            "compliant": self.compliant,
            "checkedAt": _iso(self.checked_at),
            "expiresAt": _iso(self.expires_at),
            "failures": [c for c in self.report.get("checks", []) if not c.get("passed")],
        }


@dataclass
class DatasetRecord:
    """A dataset or offer discovered in a self-description (``source="self-description"``) or a DSP catalog
    (``source="dsp"``); ``data`` is the plain-JSON result item (see :mod:`catalog.extract`)."""

    participant: str
    source: str
    dataset_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.participant}\x1f{self.source}\x1f{self.dataset_id}"


@dataclass(frozen=True)
class FeedEvent:
    """One entry of the federation change feed (``kind``: ``admitted`` or ``revoked``)."""

    seq: int
    kind: str
    participant: str
    digest: str | None
    presentation: str | None
    origin: str
    at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "participant": self.participant,
            "digest": self.digest,
            "presentation": self.presentation,
            "origin": self.origin,
            "at": _iso(self.at),
        }


@dataclass
class Peer:
    url: str
    did: str
    cursor: int
    synced_at: dt.datetime | None
    error: str | None
    failures: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "did": self.did,
            "cursor": self.cursor,
            "syncedAt": _iso(self.synced_at),
            "error": self.error,
            "failures": self.failures,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
