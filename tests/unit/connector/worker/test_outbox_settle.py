"""The outbox runner retries a delivery outcome that lost an optimistic-lock race on its process."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import pytest

from connector.services.delivery import Delivery
from connector.services.dispatch import OutboxSignal
from connector.services.runtime import Runtime
from connector.store import Conflict
from connector.worker.outbox_runner import SETTLE_ATTEMPTS, OutboxRunner

pytestmark = pytest.mark.unit


def runner() -> OutboxRunner:
    rt = cast(Runtime, SimpleNamespace())
    return OutboxRunner(rt, cast(Delivery, SimpleNamespace()))


async def test_a_conflict_is_retried_with_a_fresh_transaction() -> None:
    calls: list[int] = []

    async def outcome() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise Conflict("negotiation n is at version 2, not 1: reload and retry")

    await runner()._settle(outcome)
    assert len(calls) == 2


async def test_a_lost_lease_is_given_up_after_a_few_tries(caplog: Any) -> None:
    calls: list[int] = []

    async def outcome() -> None:
        calls.append(1)
        raise Conflict("outbox message m is not leased by w (lease lost)")

    await runner()._settle(outcome)
    assert len(calls) == SETTLE_ATTEMPTS
    assert "could not settle a delivery" in caplog.text


async def test_a_rescheduled_retry_wakes_the_worker_when_it_is_due() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rt = cast(Runtime, SimpleNamespace(now=lambda: now, outbox_ready=OutboxSignal()))
    rt.outbox_ready.take()
    worker = OutboxRunner(rt, cast(Delivery, SimpleNamespace()))
    worker._wake_at(now + dt.timedelta(milliseconds=50))
    assert not rt.outbox_ready.is_set()  # not before the retry is due (and not only at the next poll either)
    await asyncio.wait_for(rt.outbox_ready.wait(), timeout=worker.retry.poll_seconds / 2)
    assert rt.outbox_ready.take()  # and it claims
