"""Async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg), configured once here.

SQLite (performance.md §6.1): WAL journal with ``synchronous=NORMAL`` (readers never block the writer; the
fastest durable setting measured), foreign keys on, and a busy timeout so a second writer waits instead of
failing. SQLAlchemy takes over BEGIN from the sqlite3 driver (whose legacy mode skips BEGIN before SELECT and
breaks SAVEPOINT) and emits ``BEGIN IMMEDIATE``: a transaction takes the write lock up front, so two
read-then-write transactions cannot deadlock on the lock upgrade, and an outbox claim is atomic.

SQLite calls run on the event loop's thread (:class:`InlineSqliteConnection`) instead of aiosqlite's worker
thread. Our statements are point reads and single-row writes on a local file (tens of microseconds), while every
hop to the worker thread and back costs a queue put, a thread wake-up, a ``call_soon_threadsafe`` and a fight
for the GIL; a transaction makes 20-30 such hops. bench/negotiation.py: the CPU per negotiation of each connector
fell by about a third. What could block the loop is a lock held by *another process* (this process's
transactions take turns before BEGIN, see ``store.py``): the busy timeout is therefore short, and a BEGIN that
found the database locked is retried after an asynchronous sleep, up to :data:`SQLITE_LOCK_WAIT`.

JSON columns (policies, offers, agreements, message bodies) are written with orjson (performance.md §5; the stdlib
encoder was a few per cent of a connector's CPU, bench/negotiation.py); a value orjson refuses (an integer beyond 64
bits) falls back to the stdlib, so what could be stored before still can. They are read with the stdlib: orjson would
turn such an integer into a float.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Generator
from functools import partial
from queue import SimpleQueue
from typing import Any

import aiosqlite
import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_

from connector.store.sql.url import async_url

#: How long a SQLite writer waits for another process's lock before giving up, in seconds (in short blocking
#: waits of :data:`SQLITE_BUSY_TIMEOUT_MS` separated by asynchronous sleeps, see ``store.py``).
SQLITE_LOCK_WAIT = 30.0
#: SQLite's own busy timeout, in milliseconds: the longest the event loop blocks on another process's lock.
SQLITE_BUSY_TIMEOUT_MS = 20
#: PostgreSQL connections kept open, and how many more may be opened under load (closed again when returned).
#: SQLAlchemy's defaults (5 + 10) made a loaded connector open and close a connection for most transactions (TLS
#: handshake, authentication, a server process forked, and every statement prepared again on it): bench/negotiation.py
#: with 16 clients spent a third of a connector's CPU in asyncpg (17.6 negotiations/s; 25-30 with 20 + 10 or 32 + 16).
#: At most 30 per connector: two connectors and a catalogue fit PostgreSQL's default ``max_connections`` (100).
PG_POOL_SIZE = 20
PG_MAX_OVERFLOW = 10


def create_engine(url: str) -> AsyncEngine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql://...``; async drivers are chosen here)."""
    full_url = async_url(url)
    codec: dict[str, Any] = {"json_serializer": json_text}
    if not full_url.startswith("sqlite"):
        return create_async_engine(full_url, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW, **codec)
    parsed = make_url(full_url)
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    engine = create_async_engine(full_url, async_creator=partial(_connect_inline, *args, **kwargs), **codec)
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def json_text(value: Any) -> str:
    """A JSON column's text: orjson, or the stdlib for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


class _InlineQueue(SimpleQueue[tuple["asyncio.Future[Any] | None", Callable[[], Any]]]):
    """aiosqlite's request queue, served at once on the caller's thread (used by aiosqlite's ``stop`` and by
    SQLAlchemy's isolation-level setter, which put work on the queue directly)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the waiter, as aiosqlite's worker thread does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineSqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose sqlite3 calls run on the calling thread: its worker thread never starts."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _InlineQueue()

    @property
    def sqlite(self) -> sqlite3.Connection | None:
        """The ``sqlite3`` connection (None until connected): ``direct.py`` executes hot statements on it."""
        return self._connection

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # without starting the worker thread

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _connect_inline(database: str, **kwargs: Any) -> InlineSqliteConnection:
    return InlineSqliteConnection(partial(sqlite3.connect, database, **kwargs))


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
    """BEGIN IMMEDIATE; while another process holds the write lock, sleep asynchronously (the event loop goes on)
    and try again, up to :data:`SQLITE_LOCK_WAIT` seconds. Nothing has run in the transaction yet, so a retry is
    always safe."""
    deadline = time.monotonic() + SQLITE_LOCK_WAIT
    delay = 0.001
    driver = conn.connection.driver_connection
    # Our inline connections take BEGIN on the driver: one SQLAlchemy statement execution less per transaction.
    sqlite = driver.sqlite if isinstance(driver, InlineSqliteConnection) else None
    while True:
        try:
            if sqlite is not None:
                sqlite.execute("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except (OperationalError, sqlite3.OperationalError) as exc:
            error = exc.orig if isinstance(exc, OperationalError) else exc
            busy = getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + delay > deadline:
                if isinstance(exc, sqlite3.OperationalError):
                    raise OperationalError("BEGIN IMMEDIATE", (), exc) from exc
                raise
        await_(asyncio.sleep(delay))  # we run inside SQLAlchemy's greenlet bridge: this yields to the loop
        delay = min(delay * 2, 0.1)
