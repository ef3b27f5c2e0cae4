"""Open the store a URL names: ``memory://`` for the memory store, a database URL for the SQL store."""

from __future__ import annotations

from connector.store.memory import MemoryStore
from connector.store.protocols import Store
from connector.store.sql import SqlStore

MEMORY_URL = "memory://"


async def open_store(url: str, *, upgrade: bool = True) -> Store:
    """A store for ``url``; a SQL database is first migrated to the Alembic head unless ``upgrade`` is False."""
    if url == MEMORY_URL:
        return MemoryStore()
    return await SqlStore.open(url, upgrade=upgrade)
