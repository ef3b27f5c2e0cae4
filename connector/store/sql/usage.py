"""SQL repositories of usage control: the usage ledger, use reservations, claims snapshots, obligations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain import ClaimsSnapshot, DutyState, Obligation, SealedRecord, UsageRecord
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.page import Page, check_window
from connector.store.protocols import DEFAULT_LIMIT
from connector.store.sql.rows import insert_if_absent, row_values, select_one, select_page, to_entity
from connector.store.sql.tables import CLAIMS_SNAPSHOTS, LEDGER_ENTRIES, OBLIGATIONS, USAGE_RECORDS

#: The PostgreSQL advisory lock key of the usage ledger (any constant; one ledger per database).
LEDGER_LOCK_KEY = 0x67786C6564676572  # "gxledger"

_LEDGER_HEAD = select(LEDGER_ENTRIES).order_by(LEDGER_ENTRIES.c.seq.desc()).limit(1)
_USE_BY_ID = select(USAGE_RECORDS).where(USAGE_RECORDS.c.id == bindparam("id"))
_CLAIMS_BY_TRANSFER = select(CLAIMS_SNAPSHOTS).where(CLAIMS_SNAPSHOTS.c.transfer_id == bindparam("id"))
_OBLIGATION_BY_ID = select(OBLIGATIONS).where(OBLIGATIONS.c.id == bindparam("id"))


class SqlLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_head(self) -> SealedRecord | None:
        if self._conn.dialect.name == "postgresql":
            # Held until commit/rollback: concurrent appenders (other workers, other hosts) queue here.
            await self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
        # SQLite: the transaction began with BEGIN IMMEDIATE and already holds the database's write lock.
        return await self.head()

    async def append(self, entry: SealedRecord) -> None:
        if not await insert_if_absent(self._conn, LEDGER_ENTRIES, row_values(entry)):
            raise DuplicateKey(f"ledger record {entry.seq} already exists (append without lock_head?)")

    async def head(self) -> SealedRecord | None:
        return await select_one(self._conn, SealedRecord, _LEDGER_HEAD)

    async def list(
        self,
        *,
        after_seq: int = 0,
        limit: int = DEFAULT_LIMIT,
        transfer_id: str | None = None,
        agreement_id: str | None = None,
    ) -> list[SealedRecord]:
        check_window(0, limit)
        statement = select(LEDGER_ENTRIES).where(LEDGER_ENTRIES.c.seq > after_seq)
        if transfer_id is not None:
            statement = statement.where(LEDGER_ENTRIES.c.transfer_id == transfer_id)
        if agreement_id is not None:
            statement = statement.where(LEDGER_ENTRIES.c.agreement_id == agreement_id)
        rows = (await self._conn.execute(statement.order_by(LEDGER_ENTRIES.c.seq).limit(limit))).mappings().all()
        return [to_entity(SealedRecord, row) for row in rows]


class SqlUsage:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def reserve(self, record: UsageRecord) -> None:
        if not await insert_if_absent(self._conn, USAGE_RECORDS, row_values(record)):
            raise DuplicateKey(f"use {record.id!r} already exists")

    async def finish(
        self, record_id: str, *, state: str, bytes_sent: int, digest: str | None, at: dt.datetime
    ) -> UsageRecord:
        if state not in ("completed", "interrupted", "aborted"):
            raise ValueError(f"a use finishes completed, interrupted or aborted, not {state}")
        statement = (
            update(USAGE_RECORDS)
            .where(USAGE_RECORDS.c.id == record_id, USAGE_RECORDS.c.state == "reserved")
            .values(state=state, bytes=bytes_sent, digest=digest, finished_at=at)
        )
        changed = (await self._conn.execute(statement)).rowcount
        found = await select_one(self._conn, UsageRecord, _USE_BY_ID, {"id": record_id})
        if found is None:
            raise NotFound(f"use {record_id!r} not found")
        if not changed:
            raise Conflict(f"use {record_id!r} is already {found.state}")
        return found

    async def count(self, agreement_id: str) -> int:
        statement = select(func.count()).where(
            USAGE_RECORDS.c.agreement_id == agreement_id,
            USAGE_RECORDS.c.state.in_(("reserved", "completed", "interrupted")),
        )
        return int((await self._conn.execute(statement)).scalar_one())

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
    ) -> Page[UsageRecord]:
        statement = select(USAGE_RECORDS)
        if agreement_id is not None:
            statement = statement.where(USAGE_RECORDS.c.agreement_id == agreement_id)
        if transfer_id is not None:
            statement = statement.where(USAGE_RECORDS.c.transfer_id == transfer_id)
        order = (USAGE_RECORDS.c.created_at, USAGE_RECORDS.c.id)
        return await select_page(self._conn, UsageRecord, statement, offset=offset, limit=limit, order=order)

    async def save_claims(self, snapshot: ClaimsSnapshot) -> None:
        dialect_insert = postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        values = row_values(snapshot)
        statement = dialect_insert(CLAIMS_SNAPSHOTS).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[CLAIMS_SNAPSHOTS.c.transfer_id],
            set_={k: statement.excluded[k] for k in values if k != "transfer_id"},
        )
        await self._conn.execute(statement)

    async def claims(self, transfer_id: str) -> ClaimsSnapshot | None:
        return await select_one(self._conn, ClaimsSnapshot, _CLAIMS_BY_TRANSFER, {"id": transfer_id})


class SqlObligations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, obligation: Obligation) -> None:
        if not await insert_if_absent(self._conn, OBLIGATIONS, row_values(obligation)):
            raise DuplicateKey(f"obligation {obligation.id!r} already exists")

    async def get(self, obligation_id: str) -> Obligation:
        if (found := await select_one(self._conn, Obligation, _OBLIGATION_BY_ID, {"id": obligation_id})) is None:
            raise NotFound(f"obligation {obligation_id!r} not found")
        return found

    async def update(self, obligation: Obligation) -> None:
        statement = update(OBLIGATIONS).where(OBLIGATIONS.c.id == obligation.id).values(row_values(obligation))
        if not (await self._conn.execute(statement)).rowcount:
            raise NotFound(f"obligation {obligation.id!r} not found")

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
        state: DutyState | None = None,
    ) -> Page[Obligation]:
        statement = select(OBLIGATIONS)
        if agreement_id is not None:
            statement = statement.where(OBLIGATIONS.c.agreement_id == agreement_id)
        if transfer_id is not None:
            statement = statement.where(OBLIGATIONS.c.transfer_id == transfer_id)
        if state is not None:
            statement = statement.where(OBLIGATIONS.c.state == state)
        order = (OBLIGATIONS.c.created_at, OBLIGATIONS.c.id)
        return await select_page(self._conn, Obligation, statement, offset=offset, limit=limit, order=order)
