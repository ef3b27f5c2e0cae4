"""Memory idempotency keys and seen token ids (``jti``)."""

from __future__ import annotations

import datetime as dt

from connector.domain import IdempotencyRecord
from connector.store.errors import DuplicateKey
from connector.store.memory.tables import Tables, detached


class MemoryIdempotency:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, record: IdempotencyRecord) -> None:
        if record.key in self._t.idempotency:
            raise DuplicateKey(f"idempotency key {record.key!r} already used")
        self._t.idempotency[record.key] = detached(record)

    async def find(self, key: str) -> IdempotencyRecord | None:
        record = self._t.idempotency.get(key)
        return None if record is None else detached(record)

    async def purge(self, *, created_before: dt.datetime) -> int:
        old = [k for k, r in self._t.idempotency.items() if r.created_at < created_before]
        for key in old:
            del self._t.idempotency[key]
        return len(old)


class MemoryJtis:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def remember(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        seen_until = self._t.jtis.get(jti)
        if seen_until is not None and seen_until > now:
            return False
        self._t.jtis[jti] = expires_at
        return True

    async def purge_expired(self, now: dt.datetime) -> int:
        expired = [jti for jti, expires_at in self._t.jtis.items() if expires_at <= now]
        for jti in expired:
            del self._t.jtis[jti]
        return len(expired)
