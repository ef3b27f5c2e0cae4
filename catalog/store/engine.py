"""Async engines for the catalogue store, configured as the connector's store does (performance.md §6.1).

Operators write ``sqlite:///path`` or ``postgresql://...``; the async drivers (aiosqlite, asyncpg) are chosen here.
SQLite: WAL, ``synchronous=NORMAL``, foreign keys, busy timeout, and ``BEGIN IMMEDIATE`` so read-then-write
transactions never deadlock on the lock upgrade.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from catalog.errors import CatalogueConfigurationError

SQLITE_BUSY_TIMEOUT_MS = 30_000
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """``url`` with the async driver's scheme; one-line error for anything else."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _ASYNC_DRIVERS:
        raise CatalogueConfigurationError(
            f"unsupported database_url {url.split('@')[-1]!r}: use sqlite:///path/to/catalog.db or "
            "postgresql://user@host/db"
        )
    if _ASYNC_DRIVERS[scheme].startswith("sqlite") and rest in ("", "/", "/:memory:"):
        raise CatalogueConfigurationError("in-memory SQLite is not supported: give the catalogue a database file")
    return f"{_ASYNC_DRIVERS[scheme]}://{rest}"


def create_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(async_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see module docstring)
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
