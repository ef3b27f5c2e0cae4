"""Memory repositories of usage control (the store's single lock already serialises ledger appends)."""

from __future__ import annotations

import datetime as dt

from connector.domain import ClaimsSnapshot, DutyState, Obligation, SealedRecord, UsageRecord
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.memory.tables import Tables, detached, page
from connector.store.page import Page, check_window
from connector.store.protocols import DEFAULT_LIMIT


class MemoryLedger:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def lock_head(self) -> SealedRecord | None:
        return await self.head()

    async def append(self, entry: SealedRecord) -> None:
        if entry.seq in self._t.ledger:
            raise DuplicateKey(f"ledger record {entry.seq} already exists (append without lock_head?)")
        self._t.ledger = {**self._t.ledger, entry.seq: detached(entry)}

    async def head(self) -> SealedRecord | None:
        return detached(self._t.ledger[max(self._t.ledger)]) if self._t.ledger else None

    async def list(
        self,
        *,
        after_seq: int = 0,
        limit: int = DEFAULT_LIMIT,
        transfer_id: str | None = None,
        agreement_id: str | None = None,
    ) -> list[SealedRecord]:
        check_window(0, limit)
        found = [
            e
            for seq, e in sorted(self._t.ledger.items())
            if seq > after_seq
            and (transfer_id is None or e.transfer_id == transfer_id)
            and (agreement_id is None or e.agreement_id == agreement_id)
        ]
        return [detached(e) for e in found[:limit]]


class MemoryUsage:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def reserve(self, record: UsageRecord) -> None:
        if record.id in self._t.usage:
            raise DuplicateKey(f"use {record.id!r} already exists")
        self._t.usage[record.id] = detached(record)

    async def finish(
        self, record_id: str, *, state: str, bytes_sent: int, digest: str | None, at: dt.datetime
    ) -> UsageRecord:
        if state not in ("completed", "interrupted", "aborted"):
            raise ValueError(f"a use finishes completed, interrupted or aborted, not {state}")
        found = self._t.usage.get(record_id)
        if found is None:
            raise NotFound(f"use {record_id!r} not found")
        if found.state != "reserved":
            raise Conflict(f"use {record_id!r} is already {found.state}")
        done = found.evolve(state=state, bytes=bytes_sent, digest=digest, finished_at=at)
        self._t.usage[record_id] = done
        return detached(done)

    async def count(self, agreement_id: str) -> int:
        return sum(1 for r in self._t.usage.values() if r.agreement_id == agreement_id and r.state != "aborted")

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
    ) -> Page[UsageRecord]:
        return page(
            self._t.usage.values(),
            offset=offset,
            limit=limit,
            where=lambda r: (
                (agreement_id is None or r.agreement_id == agreement_id)
                and (transfer_id is None or r.transfer_id == transfer_id)
            ),
            order=lambda r: (r.created_at, r.id),
        )

    async def save_claims(self, snapshot: ClaimsSnapshot) -> None:
        self._t.claims[snapshot.transfer_id] = detached(snapshot)

    async def claims(self, transfer_id: str) -> ClaimsSnapshot | None:
        found = self._t.claims.get(transfer_id)
        return None if found is None else detached(found)


class MemoryObligations:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, obligation: Obligation) -> None:
        if obligation.id in self._t.obligations:
            raise DuplicateKey(f"obligation {obligation.id!r} already exists")
        self._t.obligations[obligation.id] = detached(obligation)

    async def get(self, obligation_id: str) -> Obligation:
        found = self._t.obligations.get(obligation_id)
        if found is None:
            raise NotFound(f"obligation {obligation_id!r} not found")
        return detached(found)

    async def update(self, obligation: Obligation) -> None:
        if obligation.id not in self._t.obligations:
            raise NotFound(f"obligation {obligation.id!r} not found")
        self._t.obligations[obligation.id] = detached(obligation)

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
        state: DutyState | None = None,
    ) -> Page[Obligation]:
        return page(
            self._t.obligations.values(),
            offset=offset,
            limit=limit,
            where=lambda o: (
                (agreement_id is None or o.agreement_id == agreement_id)
                and (transfer_id is None or o.transfer_id == transfer_id)
                and (state is None or o.state == state)
            ),
            order=lambda o: (o.created_at, o.id),
        )
