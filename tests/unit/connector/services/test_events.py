"""The in-process event bus: filtered subscriptions queue only the events they watch."""

from __future__ import annotations

import datetime as dt

from connector.services.events import QUEUE_SIZE, Event, EventBus, Watch

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def event(kind: str, process_id: str, state: str = "REQUESTED") -> Event:
    return Event(kind, process_id, state, AT)


async def test_a_watch_queues_only_its_process_once_the_id_is_known() -> None:
    bus = EventBus()
    watch = Watch("negotiation")
    async with bus.subscribe(watch) as queue:
        bus.publish(event("negotiation", "n-1"))  # before the id is known: every negotiation passes
        bus.publish(event("transfer", "t-1"))  # never another kind
        watch.process_id = "n-2"
        bus.publish(event("negotiation", "n-1", "AGREED"))
        bus.publish(event("negotiation", "n-2", "FINALIZED"))
        received = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [(e.process_id, e.state) for e in received] == [("n-1", "REQUESTED"), ("n-2", "FINALIZED")]


async def test_an_unfiltered_subscriber_gets_everything_and_leaves_cleanly() -> None:
    bus = EventBus()
    async with bus.subscribe() as everything, bus.subscribe(Watch("transfer", "t-1")) as one:
        bus.publish(event("negotiation", "n-1"))
        bus.publish(event("transfer", "t-1"))
        assert everything.qsize() == 2
        assert one.qsize() == 1
    bus.publish(event("transfer", "t-1"))  # nobody left: nothing is queued anywhere
    assert everything.qsize() == 2


async def test_a_full_queue_drops_the_oldest_event() -> None:
    bus = EventBus()
    async with bus.subscribe() as queue:
        for i in range(QUEUE_SIZE + 1):
            bus.publish(event("negotiation", f"n-{i}"))
        assert queue.qsize() == QUEUE_SIZE
        assert queue.get_nowait().process_id == "n-1"
