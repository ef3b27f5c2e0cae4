"""Async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg), configured once here.

SQLite (performance.md §6.1): WAL journal with ``synchronous=NORMAL`` (readers never block the writer; the
fastest durable setting measured), foreign keys on, and a busy timeout so a second writer waits instead of
failing. SQLAlchemy takes over BEGIN from the sqlite3 driver (whose legacy mode skips BEGIN before SELECT and
breaks SAVEPOINT) and emits ``BEGIN IMMEDIATE``: a transaction takes the write lock up front, so two
read-then-write transactions cannot deadlock on the lock upgrade, and an outbox claim is atomic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from connector.store.sql.url import async_url

#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str) -> AsyncEngine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql://...``; async drivers are chosen here)."""
    engine = create_async_engine(async_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
    cursor = dbapi_connection.cursor()
    try:
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(pragma)
    finally:
        cursor.close()


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
