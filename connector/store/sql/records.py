"""SQL idempotency keys and seen token ids (``jti``)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from sqlalchemy import Executable, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain import IdempotencyRecord
from connector.store.errors import DuplicateKey
from connector.store.sql.direct import run
from connector.store.sql.rows import insert_if_absent, row_values, select_one
from connector.store.sql.tables import IDEMPOTENCY_RECORDS, JTI_RECORDS

_IDEMPOTENCY_BY_KEY = select(IDEMPOTENCY_RECORDS).where(IDEMPOTENCY_RECORDS.c.key == bindparam("key"))


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: IdempotencyRecord) -> None:
        if not await insert_if_absent(self._conn, IDEMPOTENCY_RECORDS, row_values(record)):
            raise DuplicateKey(f"idempotency key {record.key!r} already used")

    async def find(self, key: str) -> IdempotencyRecord | None:
        return await select_one(self._conn, IdempotencyRecord, _IDEMPOTENCY_BY_KEY, {"key": key})

    async def purge(self, *, created_before: dt.datetime) -> int:
        statement = delete(IDEMPOTENCY_RECORDS).where(IDEMPOTENCY_RECORDS.c.created_at < created_before)
        return (await self._conn.execute(statement)).rowcount


@cache
def _remember(dialect: str) -> Executable:
    # One statement, atomic on both databases even for two verifiers racing on the same token: insert, or take over
    # a row whose expiry has passed; a live row is left alone and nothing is returned. Built once (see rows.py).
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    insert = dialect_insert(JTI_RECORDS).values(jti=bindparam("jti"), expires_at=bindparam("expires_at"))
    return insert.on_conflict_do_update(
        index_elements=[JTI_RECORDS.c.jti],
        set_={"expires_at": insert.excluded.expires_at},
        where=JTI_RECORDS.c.expires_at <= bindparam("now"),
    ).returning(JTI_RECORDS.c.jti)


class SqlJtis:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def remember(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        params = {"jti": jti, "expires_at": expires_at, "now": now}
        return (await run(self._conn, _remember(self._conn.dialect.name), params)).first() is not None

    async def purge_expired(self, now: dt.datetime) -> int:
        statement = delete(JTI_RECORDS).where(JTI_RECORDS.c.expires_at <= now)
        return (await self._conn.execute(statement)).rowcount
