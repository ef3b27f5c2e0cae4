"""SQL outbox with leases (dsp.md §10.3: EDC's state machines lease entities the same way).

A claim selects due rows ``FOR UPDATE SKIP LOCKED`` and leases exactly those ids in the same transaction. On
PostgreSQL concurrent claimers skip each other's locked rows, and a row committed by another claimer in the meantime
is re-checked against the WHERE clause, so no message is leased twice. It is two statements on purpose: the
one-statement form ``UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` leaves it to the planner
how often that subquery runs (PostgreSQL re-checks concurrently updated rows with EvalPlanQual), while leasing exactly
the ids the locking SELECT returned is the form the crash-point tests proved; the second round trip costs ~0.1 ms.
SQLite ignores ``FOR UPDATE``: there every transaction begins with ``BEGIN IMMEDIATE`` (see ``engine.py``), which
serialises writers. The statements are built once (see ``rows.py``).

A process's messages go out one at a time in (``created_at``, ``id``) order: a message is due only when no earlier
message of its process is still pending (leased or waiting for a retry). DSP peers apply messages in the order their
state machine expects them; two in flight at once could arrive reversed (a termination before the request that
creates the process, a termination before a completion the peer applied), and the states would diverge.
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain import OutboxMessage, OutboxStatus, ProcessKind
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.page import Page
from connector.store.protocols import DEFAULT_LIMIT
from connector.store.sql.direct import run
from connector.store.sql.rows import insert_if_absent, row_values, select_one, select_page, to_entity
from connector.store.sql.tables import OUTBOX_MESSAGES

_c = OUTBOX_MESSAGES.c
_earlier = OUTBOX_MESSAGES.alias("earlier")
_e = _earlier.c
#: An earlier message of the same process is still pending (uses ``ix_outbox_messages_process``).
_BEHIND_ANOTHER = exists().where(
    _e.process_kind == _c.process_kind,
    _e.process_id == _c.process_id,
    _e.status == OutboxStatus.PENDING.value,
    or_(_e.created_at < _c.created_at, and_(_e.created_at == _c.created_at, _e.id < _c.id)),
)

_BY_ID = select(OUTBOX_MESSAGES).where(_c.id == bindparam("id"))
_DUE = (
    select(_c.id)
    .where(
        _c.status == OutboxStatus.PENDING.value,
        _c.next_attempt_at <= bindparam("now"),
        or_(_c.lease_expires_at.is_(None), _c.lease_expires_at <= bindparam("now")),
        ~_BEHIND_ANOTHER,
    )
    .order_by(_c.next_attempt_at, _c.created_at, _c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    update(OUTBOX_MESSAGES)
    .where(_c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_owner=bindparam("owner"), lease_expires_at=bindparam("until"), attempts=_c.attempts + 1)
    .returning(*OUTBOX_MESSAGES.c)
)
#: SET takes the columns of the parameters; ``_id`` selects the message.
_SETTLE = update(OUTBOX_MESSAGES).where(_c.id == bindparam("_id"))
_SETTLE_OWNED = _SETTLE.where(_c.lease_owner == bindparam("_owner"))
_PENDING_OF_PROCESS = (
    select(_c.id)
    .where(
        _c.process_kind == bindparam("kind"),
        _c.process_id == bindparam("process_id"),
        _c.status == OutboxStatus.PENDING.value,
    )
    .limit(1)
)


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(self, message: OutboxMessage) -> None:
        if not await insert_if_absent(self._conn, OUTBOX_MESSAGES, row_values(message)):
            raise DuplicateKey(f"outbox message {message.id!r} already exists")

    async def get(self, message_id: str) -> OutboxMessage:
        if (message := await select_one(self._conn, OutboxMessage, _BY_ID, {"id": message_id})) is None:
            raise NotFound(f"outbox message {message_id!r} not found")
        return message

    async def has_pending(self, process_kind: ProcessKind, process_id: str) -> bool:
        params = {"kind": process_kind.value, "process_id": process_id}
        return (await run(self._conn, _PENDING_OF_PROCESS, params)).first() is not None

    async def claim(
        self, owner: str, *, now: dt.datetime, lease_seconds: float, limit: int = 10
    ) -> builtins.list[OutboxMessage]:
        ids = (await run(self._conn, _DUE, {"now": now, "limit": limit})).scalars()
        if not ids:
            return []
        params = {"ids": list(ids), "owner": owner, "until": now + dt.timedelta(seconds=lease_seconds)}
        rows = (await self._conn.execute(_LEASE, params)).mappings().all()
        claimed = [to_entity(OutboxMessage, row) for row in rows]
        return sorted(claimed, key=lambda m: (m.next_attempt_at, m.created_at, m.id))

    async def _settle(self, message_id: str, owner: str | None, **changes: Any) -> None:
        params = {"_id": message_id, "lease_owner": None, "lease_expires_at": None, **changes}
        if owner is not None:
            params["_owner"] = owner
        result = await run(self._conn, _SETTLE if owner is None else _SETTLE_OWNED, params)
        if result.rowcount:
            return
        await self.get(message_id)  # raises NotFound
        raise Conflict(f"outbox message {message_id!r} is not leased by {owner!r} (lease lost)")

    async def mark_sent(self, message_id: str, *, owner: str | None = None) -> None:
        await self._settle(message_id, owner, status=OutboxStatus.SENT.value, last_error=None)

    async def reschedule(
        self, message_id: str, *, next_attempt_at: dt.datetime, error: str, owner: str | None = None
    ) -> None:
        await self._settle(message_id, owner, next_attempt_at=next_attempt_at, last_error=error)

    async def mark_failed(self, message_id: str, *, error: str, owner: str | None = None) -> None:
        await self._settle(message_id, owner, status=OutboxStatus.FAILED.value, last_error=error)

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        process_kind: ProcessKind | None = None,
        process_id: str | None = None,
        status: OutboxStatus | None = None,
    ) -> Page[OutboxMessage]:
        statement = select(OUTBOX_MESSAGES)
        if process_kind is not None:
            statement = statement.where(_c.process_kind == process_kind.value)
        if process_id is not None:
            statement = statement.where(_c.process_id == process_id)
        if status is not None:
            statement = statement.where(_c.status == status.value)
        order = (_c.created_at, _c.id)
        return await select_page(self._conn, OutboxMessage, statement, offset=offset, limit=limit, order=order)
