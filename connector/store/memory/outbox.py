"""Memory outbox: leases are plain fields; the store's transaction lock makes a claim atomic."""

from __future__ import annotations

import builtins
import datetime as dt

from connector.domain import OutboxMessage, OutboxStatus, ProcessKind
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.memory.tables import Tables, detached, page
from connector.store.page import Page
from connector.store.protocols import DEFAULT_LIMIT


class MemoryOutbox:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def enqueue(self, message: OutboxMessage) -> None:
        if message.id in self._t.outbox:
            raise DuplicateKey(f"outbox message {message.id!r} already exists")
        self._t.outbox[message.id] = detached(message)

    async def get(self, message_id: str) -> OutboxMessage:
        if (message := self._t.outbox.get(message_id)) is None:
            raise NotFound(f"outbox message {message_id!r} not found")
        return detached(message)

    async def has_pending(self, process_kind: ProcessKind, process_id: str) -> bool:
        return any(
            m.status is OutboxStatus.PENDING and m.process_kind is process_kind and m.process_id == process_id
            for m in self._t.outbox.values()
        )

    async def claim(
        self, owner: str, *, now: dt.datetime, lease_seconds: float, limit: int = 10
    ) -> builtins.list[OutboxMessage]:
        pending = [m for m in self._t.outbox.values() if m.status is OutboxStatus.PENDING]
        heads: dict[tuple[ProcessKind, str], OutboxMessage] = {}
        for m in pending:  # one message per process at a time, the oldest (see the SQL outbox)
            key = (m.process_kind, m.process_id)
            if key not in heads or (m.created_at, m.id) < (heads[key].created_at, heads[key].id):
                heads[key] = m
        due = sorted(
            (
                m
                for m in heads.values()
                if m.next_attempt_at <= now and (m.lease_expires_at is None or m.lease_expires_at <= now)
            ),
            key=lambda m: (m.next_attempt_at, m.created_at, m.id),
        )[:limit]
        lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
        claimed = []
        for message in due:
            leased = message.evolve(lease_owner=owner, lease_expires_at=lease_expires_at, attempts=message.attempts + 1)
            self._t.outbox[message.id] = leased
            claimed.append(detached(leased))
        return claimed

    async def _settle(self, message_id: str, owner: str | None, **changes: object) -> None:
        message = await self.get(message_id)
        if owner is not None and message.lease_owner != owner:
            raise Conflict(f"outbox message {message_id!r} is not leased by {owner!r} (lease lost)")
        self._t.outbox[message_id] = message.evolve(lease_owner=None, lease_expires_at=None, **changes)

    async def mark_sent(self, message_id: str, *, owner: str | None = None) -> None:
        await self._settle(message_id, owner, status=OutboxStatus.SENT, last_error=None)

    async def reschedule(
        self, message_id: str, *, next_attempt_at: dt.datetime, error: str, owner: str | None = None
    ) -> None:
        await self._settle(message_id, owner, next_attempt_at=next_attempt_at, last_error=error)

    async def mark_failed(self, message_id: str, *, error: str, owner: str | None = None) -> None:
        await self._settle(message_id, owner, status=OutboxStatus.FAILED, last_error=error)

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        process_kind: ProcessKind | None = None,
        process_id: str | None = None,
        status: OutboxStatus | None = None,
    ) -> Page[OutboxMessage]:
        return page(
            self._t.outbox.values(),
            offset=offset,
            limit=limit,
            where=lambda m: (
                (process_kind is None or m.process_kind == process_kind)
                and (process_id is None or m.process_id == process_id)
                and (status is None or m.status == status)
            ),
            order=lambda m: (m.created_at, m.id),
        )
