"""The SQL store: SQLAlchemy 2 Core statements over the typed ORM tables, one connection per transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connector.store.committed import run_committed
from connector.store.faults import kill_after_commit
from connector.store.sql.catalog import SqlAssets, SqlContractDefinitions, SqlPolicyDefinitions
from connector.store.sql.engine import create_engine
from connector.store.sql.migration import migrate
from connector.store.sql.outbox import SqlOutbox
from connector.store.sql.processes import SqlAgreements, SqlNegotiations, SqlTransfers
from connector.store.sql.records import SqlIdempotency, SqlJtis
from connector.store.sql.usage import SqlLedger, SqlObligations, SqlUsage


class SqlTransaction:
    """The repositories of one database transaction (see :class:`connector.store.protocols.Transaction`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.committed: list[Callable[[], None]] = []
        self.assets = SqlAssets(conn)
        self.policies = SqlPolicyDefinitions(conn)
        self.contract_definitions = SqlContractDefinitions(conn)
        self.negotiations = SqlNegotiations(conn)
        self.agreements = SqlAgreements(conn)
        self.transfers = SqlTransfers(conn)
        self.outbox = SqlOutbox(conn)
        self.idempotency = SqlIdempotency(conn)
        self.jtis = SqlJtis(conn)
        self.ledger = SqlLedger(conn)
        self.usage = SqlUsage(conn)
        self.obligations = SqlObligations(conn)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)


#: Set while this task holds the in-process SQLite write turn (a nested transaction then does not queue for it).
_HOLDING_TURN: ContextVar[bool] = ContextVar("_HOLDING_TURN", default=False)


class SqlStore:
    """A :class:`connector.store.protocols.Store` on SQLite or PostgreSQL. Create it with :meth:`open`.

    SQLite transactions take the write lock up front (``BEGIN IMMEDIATE``, see ``engine``); when two of one
    process's transactions meet there, the loser polls in SQLite's busy handler, sleeping 1, 2, 5 ... 100 ms
    between tries. That polling was the largest cost of a negotiation (bench/negotiation.py), so this process's
    transactions take turns on an asyncio lock first (FIFO, woken at once); SQLite's busy timeout still guards
    against other processes on the same file. Taking turns, they also share one connection, held open: checking a
    connection out of the pool and back in (with its reset) cost ~170 of the ~240 us of CPU an empty transaction
    took, and a negotiation makes about nine transactions on each side.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        #: SQLite: the connection the turns share (opened on first use, reopened if it was invalidated).
        self._held: AsyncConnection | None = None
        self._after_commit = kill_after_commit()  # None unless a crash test set GXC_FAULT_KILL_AFTER_COMMIT

    @classmethod
    async def open(cls, url: str, *, upgrade: bool = True) -> SqlStore:
        """Connect to ``url`` (``sqlite:///file.db`` or ``postgresql://...``), first bringing the schema to the
        Alembic head unless ``upgrade`` is False."""
        if upgrade:
            await migrate(url)
        return cls(create_engine(url))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        """Commit when the block exits normally; roll back (nothing persisted) when it raises."""
        if self._turn is None or _HOLDING_TURN.get():
            async with self._engine.connect() as conn, conn.begin():
                tx = SqlTransaction(conn)
                yield tx
        else:
            async with self._turn:
                holding = _HOLDING_TURN.set(True)
                try:
                    conn = await self._turn_connection()
                    async with conn.begin():
                        tx = SqlTransaction(conn)
                        yield tx
                finally:
                    _HOLDING_TURN.reset(holding)
        if self._after_commit is not None:
            self._after_commit()
        run_committed(tx.committed)

    async def _turn_connection(self) -> AsyncConnection:
        """The held SQLite connection, ready for a new transaction (called with the turn held)."""
        conn = self._held
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                await conn.close()
            conn = self._held = await self._engine.connect()
        elif conn.in_transaction():  # left open by a transaction that was interrupted before it ended
            await conn.rollback()
        return conn

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        async with self.transaction() as tx:
            return await tx.jtis.remember(jti, expires_at, now)

    async def close(self) -> None:
        if self._held is not None:
            await self._held.close()
            self._held = None
        await self._engine.dispose()
