"""SQLite engine: statements run on the event loop's thread (no aiosqlite worker thread), and a write lock held by
another process is waited for without blocking the event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from pathlib import Path

from connector.dsp.states import Role
from connector.store.sql import SqlStore


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def test_sqlite_statements_run_without_a_worker_thread(tmp_path: Path) -> None:
    before = len(_worker_threads())
    store = await SqlStore.open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        async with store.transaction() as tx:
            assert await tx.negotiations.find_by_consumer_pid(Role.CONSUMER, "urn:uuid:none") is None
        assert len(_worker_threads()) == before
    finally:
        await store.close()


async def test_a_lock_held_by_another_process_is_waited_for_asynchronously(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = await SqlStore.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the other process's write transaction
        ticks = 0

        async def other_work() -> None:
            nonlocal ticks
            while ticks < 5:  # the event loop keeps serving other tasks meanwhile
                await asyncio.sleep(0.01)
                ticks += 1
            other.execute("COMMIT")

        releasing = asyncio.create_task(other_work())
        async with store.transaction() as tx:
            assert ticks == 5  # BEGIN succeeded only once the other transaction had ended
            assert await tx.jtis.remember("j", _now(), _now()) is True
        await releasing
    finally:
        other.close()
        await store.close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
