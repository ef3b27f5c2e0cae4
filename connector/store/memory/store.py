"""The memory store: for unit tests and single-process demos. Nothing survives the process.

Transactions are serialised by one :class:`asyncio.Lock` (so a claim is atomic and every transaction sees a
consistent state) and rolled back by restoring the snapshot taken when the transaction began.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from connector.store.committed import run_committed
from connector.store.errors import StoreError
from connector.store.memory.catalog import MemoryAssets, MemoryContractDefinitions, MemoryPolicyDefinitions
from connector.store.memory.outbox import MemoryOutbox
from connector.store.memory.processes import MemoryAgreements, MemoryNegotiations, MemoryTransfers
from connector.store.memory.records import MemoryIdempotency, MemoryJtis
from connector.store.memory.tables import Tables
from connector.store.memory.usage import MemoryLedger, MemoryObligations, MemoryUsage


class MemoryTransaction:
    """The repositories of one memory transaction (see :class:`connector.store.protocols.Transaction`)."""

    def __init__(self, tables: Tables) -> None:
        self.committed: list[Callable[[], None]] = []
        self.assets = MemoryAssets(tables)
        self.policies = MemoryPolicyDefinitions(tables)
        self.contract_definitions = MemoryContractDefinitions(tables)
        self.negotiations = MemoryNegotiations(tables)
        self.agreements = MemoryAgreements(tables)
        self.transfers = MemoryTransfers(tables)
        self.outbox = MemoryOutbox(tables)
        self.idempotency = MemoryIdempotency(tables)
        self.jtis = MemoryJtis(tables)
        self.ledger = MemoryLedger(tables)
        self.usage = MemoryUsage(tables)
        self.obligations = MemoryObligations(tables)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)


class MemoryStore:
    """A :class:`connector.store.protocols.Store` held in process memory."""

    def __init__(self) -> None:
        self._tables = Tables()
        self._lock = asyncio.Lock()
        self._closed = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryTransaction]:
        if self._closed:
            raise StoreError("the memory store is closed")
        async with self._lock:
            snapshot = self._tables.snapshot()
            tx = MemoryTransaction(self._tables)
            try:
                yield tx
            except BaseException:
                self._tables.restore(snapshot)
                raise
        run_committed(tx.committed)

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        async with self.transaction() as tx:
            return await tx.jtis.remember(jti, expires_at, now)

    async def close(self) -> None:
        self._closed = True
