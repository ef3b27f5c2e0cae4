"""The outbox runner: delivers persisted outbound messages to peers (house rule 2; dsp.md §10.3).

It claims due messages under a lease (several replicas on one PostgreSQL never send the same message twice while
a lease holds), sends each with our self-issued token, and hands the answer to :class:`~connector.services.
delivery.Delivery`. Transport errors and retryable answers back off exponentially with jitter; after
``max_attempts`` the process is terminated with the reason. Latency is event-driven: services set
``runtime.outbox_ready`` after committing a message, and the runner claims at once; a slow poll only picks up
retries that became due. Deliveries run concurrently (bounded), so one slow peer never blocks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass

from connector.domain import OutboxMessage
from connector.peer.client import PeerUnreachable
from connector.peer.egress import EgressDenied
from connector.services.delivery import RETRYABLE_STATUS, Delivery
from connector.services.runtime import Runtime
from connector.store.errors import Conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 60.0
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    concurrency: int = 32

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter (attempt 1 -> up to ``base_delay``)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


class OutboxRunner:
    def __init__(self, runtime: Runtime, delivery: Delivery, retry: RetryPolicy | None = None) -> None:
        self.rt = runtime
        self.delivery = delivery
        self.retry = retry or RetryPolicy()
        self.owner = f"worker-{uuid.uuid4()}"
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.retry.concurrency)

    async def run(self) -> None:
        """Run until cancelled."""
        while True:
            self.rt.outbox_ready.clear()
            claimed, wanted = await self._claim()
            for message, audience in claimed:
                await self._slots.acquire()
                task = asyncio.create_task(self._deliver(message, audience))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if claimed and len(claimed) == wanted:
                continue  # there may be more due messages; fewer than asked means none was left at the claim
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.rt.outbox_ready.wait(), timeout=self.retry.poll_seconds)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _claim(self) -> tuple[list[tuple[OutboxMessage, str | None]], int]:
        """Lease due messages and, in the same transaction, look up whom each goes to (None: its process is gone);
        returns them with the number asked for."""
        free = max(1, self.retry.concurrency - len(self._inflight))  # claim no more than we can start now
        try:
            async with self.rt.store.transaction() as tx:
                claimed = await tx.outbox.claim(
                    self.owner, now=self.rt.now(), lease_seconds=self.retry.lease_seconds, limit=free
                )
                return [(message, await self.delivery.audience_in(tx, message)) for message in claimed], free
        except Exception:
            log.exception("claiming outbox messages failed; retrying")
            await asyncio.sleep(self.retry.poll_seconds)
            return [], free

    async def _deliver(self, message: OutboxMessage, audience: str | None) -> None:
        if audience is None:
            async with self.rt.store.transaction() as tx:
                await tx.outbox.mark_failed(message.id, error="process no longer exists", owner=self.owner)
            return
        try:
            response = await self.rt.peers.send("POST", message.target_url, audience=audience, body=message.body)
        except EgressDenied as exc:
            await self._settle(self.delivery.undeliverable(message, exc.message, owner=self.owner))
            return
        except PeerUnreachable as exc:
            await self._retry_or_give_up(message, exc.message)
            return
        log.info(
            "delivered",
            extra={"dsp_message": message.message_type, "target": message.target_url, "status": response.status},
        )
        if response.ok:
            await self._settle(self.delivery.delivered(message, response, owner=self.owner))
        elif response.status in RETRYABLE_STATUS or response.status >= 500:
            await self._retry_or_give_up(message, f"HTTP {response.status}: {response.text[:200]}")
        else:
            await self._settle(self.delivery.rejected(message, response, owner=self.owner))

    async def _retry_or_give_up(self, message: OutboxMessage, error: str) -> None:
        if message.attempts >= self.retry.max_attempts:
            await self._settle(
                self.delivery.undeliverable(
                    message, f"gave up after {message.attempts} attempts: {error}", owner=self.owner
                )
            )
            return
        next_at = self.rt.now() + dt.timedelta(seconds=self.retry.delay(message.attempts))
        try:
            async with self.rt.store.transaction() as tx:
                await tx.outbox.reschedule(message.id, next_attempt_at=next_at, error=error, owner=self.owner)
        except Conflict:
            log.warning("lost the lease of %s while rescheduling", message.id)

    async def _settle(self, outcome: Awaitable[None]) -> None:
        try:
            await outcome
        except Conflict:
            log.warning("lost a lease while settling a delivery; another worker owns the message now")
