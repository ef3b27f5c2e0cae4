"""In-process events about process state changes, for server-sent events and webhooks.

Published after the transaction that made the change committed, so a subscriber never sees a state that was rolled
back. Subscribers get a bounded queue; a slow subscriber loses old events rather than slowing the connector down
(it can always re-read the current state through the management API).

A subscriber that waits for one process passes a filter (:class:`Watch`): the event is tested where it is published
and only matching events are queued. Every management call with ``?wait=`` subscribes, so without the filter each
state change woke every waiting call's task (bench/negotiation.py: with 16 clients, 80 task wake-ups per
negotiation on the consumer, and throughput fell as clients were added).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
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


class Watch:
    """A filter for the events of one process of one ``kind``. Its id may be set after subscribing (a process that
    does not exist yet: subscribe first, so that none of its events is missed); until then every event of the kind
    passes."""

    def __init__(self, kind: str, process_id: str | None = None) -> None:
        self.kind = kind
        self.process_id = process_id

    def __call__(self, event: Event) -> bool:
        return event.kind == self.kind and (self.process_id is None or event.process_id == self.process_id)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[asyncio.Queue[Event], Callable[[Event], bool] | None] = {}

    def publish(self, event: Event) -> None:
        for queue, wanted in list(self._subscribers.items()):
            if wanted is not None and not wanted(event):
                continue
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, wanted: Callable[[Event], bool] | None = None) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue of the events published from now on (those ``wanted`` accepts, when given)."""
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[queue] = wanted
        try:
            yield queue
        finally:
            self._subscribers.pop(queue, None)
