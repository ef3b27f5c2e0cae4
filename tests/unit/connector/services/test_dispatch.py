"""Handing committed messages to the outbox worker (services.dispatch): the next message of a process is written
leased to the worker and handed over only after the commit; one that waits behind another is left to the claim."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest

from connector.domain import Negotiation
from connector.dsp import ContractNegotiationTerminationMessage, paths
from connector.dsp.states import Role
from connector.services.delivery import Delivery
from connector.services.dispatch import OutboxSignal
from connector.services.outbox import negotiation_message, send
from connector.services.runtime import Runtime
from connector.store import MemoryStore
from connector.worker.outbox_runner import OutboxRunner, RetryPolicy
from tests.fixtures.entities import Factory

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def negotiation() -> Negotiation:
    """A consumer's negotiation with a provider whose DSP base is https://provider.example/dsp."""
    return Factory().negotiation(
        role=Role.CONSUMER,
        consumer_pid="urn:uuid:c",
        provider_pid="urn:uuid:p",
        counter_party_id="did:web:provider.example",
        counter_party_address="https://provider.example/dsp",
    )


def wiring(*, with_worker: bool = True) -> tuple[Runtime, MemoryStore, OutboxRunner]:
    store = MemoryStore()
    rt = cast(Runtime, SimpleNamespace(now=lambda: T0, outbox_ready=OutboxSignal(), store=store, dispatcher=None))
    rt.outbox_ready.take()  # as a running worker would have
    runner = OutboxRunner(rt, cast(Delivery, SimpleNamespace()), RetryPolicy(lease_seconds=30))
    if with_worker:
        rt.dispatcher = runner
    return rt, store, runner


def termination(rt: Runtime, n: Negotiation) -> Any:
    body = ContractNegotiationTerminationMessage(provider_pid="urn:uuid:p", consumer_pid="urn:uuid:c", code="x")
    return negotiation_message(rt, n, body, paths.NEGOTIATION_TERMINATION)


async def test_the_next_message_is_leased_and_handed_over_after_the_commit() -> None:
    rt, store, runner = wiring()
    n = negotiation()
    message = termination(rt, n)
    async with store.transaction() as tx:
        await tx.negotiations.add(n)
        await send(rt, tx, n, message)
        assert runner._handed == []  # not before the commit
    [route] = runner._handed
    assert route.audience == "did:web:provider.example"
    assert route.message.id == message.id
    assert route.message.target_url == "https://provider.example/dsp/negotiations/urn:uuid:p/termination"
    assert rt.outbox_ready.is_set()  # the worker wakes
    assert not rt.outbox_ready.take()  # but has nothing to claim
    async with store.transaction() as tx:
        stored = await tx.outbox.get(message.id)
        # leased like a claim: no other worker takes it while the lease holds
        assert stored.lease_owner == runner.owner
        assert stored.lease_expires_at == T0 + dt.timedelta(seconds=30)
        assert stored.attempts == 1
        assert await tx.outbox.claim("another-worker", now=T0, lease_seconds=30) == []


async def test_a_rolled_back_message_is_neither_stored_nor_handed_over() -> None:
    rt, store, runner = wiring()
    n = negotiation()

    async def failed_change() -> None:
        async with store.transaction() as tx:
            await tx.negotiations.add(n)
            await send(rt, tx, n, termination(rt, n))
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await failed_change()
    assert runner._handed == []
    async with store.transaction() as tx:
        assert not (await tx.outbox.list()).items


async def test_a_message_behind_a_pending_one_waits_for_the_claim() -> None:
    rt, store, runner = wiring()
    n = negotiation()
    first, second = termination(rt, n), termination(rt, n)
    async with store.transaction() as tx:
        await tx.negotiations.add(n)
        await send(rt, tx, n, first)
        await send(rt, tx, n, second)
    assert [r.message.id for r in runner._handed] == [first.id]
    assert rt.outbox_ready.take()  # a claim is asked for: the second is enqueued unleased
    async with store.transaction() as tx:
        waiting = await tx.outbox.get(second.id)
        assert waiting.lease_owner is None
        assert waiting.attempts == 0


async def test_without_a_worker_messages_are_only_enqueued() -> None:
    rt, store, runner = wiring(with_worker=False)
    n = negotiation()
    message = termination(rt, n)
    async with store.transaction() as tx:
        await tx.negotiations.add(n)
        assert not rt.outbox_ready.is_set()  # not before the commit
        await send(rt, tx, n, message)
        assert not rt.outbox_ready.is_set()
    assert runner._handed == []
    assert rt.outbox_ready.take()
    async with store.transaction() as tx:
        assert [m.id for m in await tx.outbox.claim("w", now=T0, lease_seconds=30)] == [message.id]


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail("the condition did not hold in time")


async def test_the_worker_claims_only_when_asked_or_on_its_poll() -> None:
    """A handover rings the worker awake without a claim (it would find nothing due); a message enqueued unleased
    asks for one; the poll timeout claims regardless (expired leases, other replicas)."""
    rt, store, runner = wiring()
    claims: list[int] = []

    async def claim() -> tuple[list[Any], int]:
        claims.append(1)
        return [], 1

    runner._claim = claim  # type: ignore[method-assign]
    started: list[str] = []

    async def start(message: Any, route: Any) -> None:
        started.append(message.id)

    runner._start = start  # type: ignore[method-assign]
    runner.retry = RetryPolicy(poll_seconds=0.3)
    task = asyncio.create_task(runner.run())
    try:
        n = negotiation()
        async with store.transaction() as tx:
            await tx.negotiations.add(n)
            message = termination(rt, n)
            await send(rt, tx, n, message)
        await eventually(lambda: started == [message.id])
        assert claims == []  # the worker took nothing to claim from the handover
        rt.outbox_ready.set()
        await eventually(lambda: claims == [1])
        await eventually(lambda: len(claims) >= 2)  # the poll (0.3 s here)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
