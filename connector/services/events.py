"""In-process events about process state changes, for server-sent events and webhooks.

Published after the transaction that made the change committed, so a subscriber never sees a state that was rolled
back. Subscribers get a bounded queue; a slow subscriber loses old events rather than slowing the connector down
(it can always re-read the current state through the management API).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 256


@dataclass(frozen=True)
class Event:
    """``kind`` is ``negotiation`` or ``transfer``; ``data`` is the plain JSON of the process."""

    kind: str
    process_id: str
    state: str
    at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.process_id,
            "state": self.state,
            "at": self.at.isoformat(),
            "data": self.data,
        }


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def publish(self, event: Event) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
