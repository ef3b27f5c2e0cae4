"""SQLite hot statements run on the driver (``connector.store.sql.direct``) and write and read exactly what
SQLAlchemy writes and reads: the two paths must be interchangeable row by row, or a database written by one could be
misread by the other (datetimes are compared as text, JSON documents are parsed back)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from connector.domain import Negotiation, OutboxMessage
from connector.dsp.states import Role
from connector.store.errors import DuplicateKey
from connector.store.sql import SqlStore, direct
from connector.store.sql.outbox import _DUE, _PENDING_OF_PROCESS, _SETTLE_OWNED
from connector.store.sql.processes import _statements
from connector.store.sql.records import _remember
from connector.store.sql.rows import row_values, select_one, to_entity
from connector.store.sql.tables import NEGOTIATIONS, OUTBOX_MESSAGES

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


pytestmark = pytest.mark.integration


@pytest.fixture
async def store(sqlite_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "direct.db"
    shutil.copy(sqlite_template, path)
    opened = await SqlStore.open(f"sqlite:///{path}", upgrade=False)
    yield opened
    await opened.close()


def raw_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


async def test_hot_statements_take_the_driver_path(store: SqlStore) -> None:
    async with store.transaction() as tx:
        conn = tx.negotiations._conn
        assert direct._sqlite_of(conn) is not None
        n = _statements(NEGOTIATIONS)
        cases: list[tuple[Any, dict[str, Any]]] = [
            (n.by_id, {"id": "x"}),
            (n.by_consumer_pid, {"role": "CONSUMER", "pid": "x"}),
            (_DUE, {"now": T0, "limit": 10}),
            (_PENDING_OF_PROCESS, {"kind": "negotiation", "process_id": "x"}),
            (_SETTLE_OWNED, {"_id": "x", "_owner": "w", "lease_owner": None, "lease_expires_at": None}),
            (_remember("sqlite"), {"jti": "j", "expires_at": T0, "now": T0}),
        ]
        for statement, params in cases:
            assert direct._plan(statement, conn.dialect, params) is not None, statement


async def test_rows_written_by_either_path_are_identical(store: SqlStore, make: Any, tmp_path: Path) -> None:
    by_driver = make.negotiation(role=Role.CONSUMER, consumer_pid="urn:uuid:c-1", provider_pid=None)
    by_sqlalchemy = make.negotiation(role=Role.CONSUMER, consumer_pid="urn:uuid:c-2", provider_pid=None)
    by_sqlalchemy = by_sqlalchemy.model_copy(update={"id": by_driver.id + "-sa"})
    async with store.transaction() as tx:
        await tx.negotiations.add(by_driver)  # insert_if_absent: the driver path
        await tx.negotiations._conn.execute(insert(NEGOTIATIONS), row_values(by_sqlalchemy))
    stored = raw_rows(tmp_path / "direct.db", "negotiations")
    assert len(stored) == 2
    driver_row, sqlalchemy_row = stored
    # every column in the same text form, apart from the keys that differ by construction
    differing = {i for i, (a, b) in enumerate(zip(driver_row, sqlalchemy_row, strict=True)) if a != b}
    names = [c.name for c in NEGOTIATIONS.columns]
    assert {names[i] for i in differing} <= {"id", "consumer_pid"}

    async with store.transaction() as tx:
        conn = tx.negotiations._conn
        read_by_driver = await select_one(conn, Negotiation, _statements(NEGOTIATIONS).by_id, {"id": by_sqlalchemy.id})
        read_by_sqlalchemy = to_entity(
            Negotiation,
            (await conn.execute(select(NEGOTIATIONS).where(NEGOTIATIONS.c.id == by_driver.id))).mappings().one(),
        )
    assert read_by_driver == by_sqlalchemy
    assert read_by_sqlalchemy == by_driver


async def test_datetimes_compare_as_sqlalchemy_stored_them(store: SqlStore, make: Any) -> None:
    due = make.message(next_attempt_at=T0)
    later = make.message(next_attempt_at=T0 + dt.timedelta(microseconds=1))
    async with store.transaction() as tx:
        await tx.negotiations._conn.execute(insert(OUTBOX_MESSAGES), row_values(due))  # written by SQLAlchemy
        await tx.outbox.enqueue(later)  # written by the driver
    async with store.transaction() as tx:
        claimed = await tx.outbox.claim("w", now=T0, lease_seconds=30)
    assert [m.id for m in claimed] == [due.id]
    assert isinstance(claimed[0], OutboxMessage)
    assert claimed[0].next_attempt_at == T0


async def test_driver_errors_surface_as_sqlalchemy_errors(store: SqlStore, make: Any) -> None:
    first = make.negotiation(role=Role.PROVIDER, provider_pid="urn:uuid:p-1")
    second = make.negotiation(role=Role.PROVIDER, provider_pid="urn:uuid:p-2")
    async with store.transaction() as tx:
        await tx.negotiations.add(first)
        await tx.negotiations.add(second)
    # an update that breaks UNIQUE (role, provider_pid) goes through the repositories' translation
    with pytest.raises(DuplicateKey):
        async with store.transaction() as tx:
            await tx.negotiations.update(second.evolve(provider_pid="urn:uuid:p-1"))
    async with store.transaction() as tx:
        conn = tx.negotiations._conn
        with pytest.raises(IntegrityError):
            await direct.run(conn, insert(NEGOTIATIONS), row_values(first))
