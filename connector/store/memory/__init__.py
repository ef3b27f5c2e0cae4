"""The memory implementation of the store contract (see :mod:`connector.store.protocols`)."""

from connector.store.memory.store import MemoryStore, MemoryTransaction

__all__ = ["MemoryStore", "MemoryTransaction"]
