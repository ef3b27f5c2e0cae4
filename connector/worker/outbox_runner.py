"""The outbox runner: delivers persisted outbound messages to peers (house rule 2; dsp.md §10.3).

It claims due messages under a lease (several replicas on one PostgreSQL never send the same message twice while
a lease holds), sends each with our self-issued token, and hands the answer to :class:`~connector.services.
delivery.Delivery`. A process's messages go out one at a time, in the order they were enqueued (the claim skips a
message while an earlier one of its process is pending), and a pid learned since enqueueing is filled in before
sending. Transport errors and retryable answers back off exponentially with jitter; after ``max_attempts`` the
process is terminated with the reason. A termination to a peer that is down or failing (I/O errors, 5xx, 408, 429)
ends the process here as well but keeps trying (capped backoff) for ``termination_budget``: it is the peer's only
way to learn the end. Latency is event-driven: a message enqueued unleased sets ``runtime.outbox_ready`` once
committed, and the runner claims at once; a slow poll only picks up expired leases and other replicas' messages.
A message that a service could write already leased to this worker (the next of its process) is handed over in
memory after its commit instead (``services.dispatch``): it only rings the signal, and needs no claim. Deliveries run
concurrently (bounded), so one slow peer never blocks the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from connector.domain import OutboxMessage
from connector.peer.client import PeerUnreachable
from connector.peer.egress import EgressDenied
from connector.services.delivery import RETRYABLE_STATUS, Delivery
from connector.services.dispatch import Route
from connector.services.outbox import missing_pids
from connector.services.runtime import Runtime
from connector.store.errors import Conflict

log = logging.getLogger(__name__)

#: Tries of one delivery outcome transaction against concurrent updates of its process.
SETTLE_ATTEMPTS = 3


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 60.0
    #: How long a termination keeps being retried after ``max_attempts`` (backoff capped at ``max_delay``): it is
    #: how the peer learns that the process ended here, and a lost one leaves the peer's process running for good.
    termination_budget: float = 24 * 3600.0
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
        self._handed: list[Route] = []

    @property
    def lease_seconds(self) -> float:
        return self.retry.lease_seconds

    def handoff(self, route: Route) -> None:
        """Deliver a committed message leased to us (``services.dispatch.Dispatcher``): next turn of :meth:`run`,
        without a claim of its own."""
        self._handed.append(route)
        self.rt.outbox_ready.ring()

    async def run(self) -> None:
        """Run until cancelled."""
        signal = self.rt.outbox_ready
        while True:
            claim = signal.take()
            while self._handed:
                handed, self._handed = self._handed, []
                for route in handed:
                    await self._start(route.message, route)
            if claim:
                claimed, wanted = await self._claim()
                for message, route_or_none in claimed:
                    await self._start(message, route_or_none)
                if claimed and len(claimed) == wanted:
                    signal.set()  # there may be more due messages; fewer than asked means none was left
                    continue
            try:
                await asyncio.wait_for(signal.wait(), timeout=self.retry.poll_seconds)
            except TimeoutError:
                signal.set()  # the poll: leases that expired, retries due, other replicas' messages

    async def _start(self, message: OutboxMessage, route: Route | None) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._deliver(message, route))
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _claim(self) -> tuple[list[tuple[OutboxMessage, Route | None]], int]:
        """Lease due messages and, in the same transaction, look up whom each goes to (None: its process is gone);
        returns them with the number asked for."""
        free = max(1, self.retry.concurrency - len(self._inflight))  # claim no more than we can start now
        try:
            async with self.rt.store.transaction() as tx:
                claimed = await tx.outbox.claim(
                    self.owner, now=self.rt.now(), lease_seconds=self.retry.lease_seconds, limit=free
                )
                return [(message, await self.delivery.route_in(tx, message)) for message in claimed], free
        except Exception:
            log.exception("claiming outbox messages failed; retrying")
            await asyncio.sleep(self.retry.poll_seconds)
            return [], free

    async def _deliver(self, message: OutboxMessage, route: Route | None) -> None:
        if route is None:
            async with self.rt.store.transaction() as tx:
                await tx.outbox.mark_failed(message.id, error="process no longer exists", owner=self.owner)
            return
        message = route.message
        if missing := missing_pids(message):
            # Only possible when the request that would have told us the peer's pid was given up (the messages of
            # a process go out in order): there is no URL to send to.
            reason = f"the peer's {' and '.join(missing)} is unknown (it never acknowledged our request)"
            await self._settle(lambda: self.delivery.undeliverable(message, reason, owner=self.owner))
            return
        try:
            response = await self.rt.peers.send("POST", message.target_url, audience=route.audience, body=message.body)
        except EgressDenied as exc:
            error = exc.message
            await self._settle(lambda: self.delivery.undeliverable(message, error, owner=self.owner))
            return
        except PeerUnreachable as exc:
            await self._retry_or_give_up(message, exc.message, unavailable=True)
            return
        log.info(
            "delivered",
            extra={"dsp_message": message.message_type, "target": message.target_url, "status": response.status},
        )
        if response.ok:
            await self._settle(lambda: self.delivery.delivered(message, response, owner=self.owner))
        elif response.status in RETRYABLE_STATUS or response.status >= 500:
            unavailable = response.status not in (404, 409)  # those answer for the process, not for the peer
            await self._retry_or_give_up(message, f"HTTP {response.status}: {response.text[:200]}", unavailable)
        else:
            await self._settle(lambda: self.delivery.rejected(message, response, owner=self.owner))

    async def _retry_or_give_up(self, message: OutboxMessage, error: str, unavailable: bool = False) -> None:
        exhausted = message.attempts >= self.retry.max_attempts
        if exhausted and not (unavailable and self._keeps_trying(message)):
            await self._settle(
                lambda: self.delivery.undeliverable(
                    message, f"gave up after {message.attempts} attempts: {error}", owner=self.owner
                )
            )
            return
        next_at = self.rt.now() + dt.timedelta(seconds=self.retry.delay(message.attempts))
        if exhausted:  # a termination to a peer that is down: ended here now, and the peer is told when it is back
            await self._settle(
                lambda: self.delivery.still_terminating(message, error=error, next_attempt_at=next_at, owner=self.owner)
            )
            self._wake_at(next_at)
            return
        try:
            async with self.rt.store.transaction() as tx:
                await tx.outbox.reschedule(message.id, next_attempt_at=next_at, error=error, owner=self.owner)
        except Conflict:
            log.warning("lost the lease of %s while rescheduling", message.id)
            return
        self._wake_at(next_at)

    def _wake_at(self, when: dt.datetime) -> None:
        """Claim again when a retry becomes due rather than at the next poll (a 250 ms backoff would otherwise wait
        up to ``poll_seconds``)."""
        delay = max(0.0, (when - self.rt.now()).total_seconds())
        asyncio.get_running_loop().call_later(delay, self.rt.outbox_ready.set)

    def _keeps_trying(self, message: OutboxMessage) -> bool:
        """A termination to an unavailable peer is retried for ``termination_budget``."""
        if not message.message_type.endswith("TerminationMessage"):
            return False
        return (self.rt.now() - message.created_at).total_seconds() < self.retry.termination_budget

    async def _settle(self, outcome: Callable[[], Awaitable[None]]) -> None:
        """Run ``outcome`` (one transaction); a Conflict is retried with fresh reads: the process was updated
        concurrently (the peer's next message, processed while we handle the ACK of ours, moved it first). Left
        unsettled, the message would keep its lease, and the process's later messages wait behind it."""
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                await outcome()
                return
            except Conflict as exc:
                if attempt == SETTLE_ATTEMPTS:
                    log.warning(
                        "could not settle a delivery (the lease was lost or the process keeps changing): %s", exc
                    )
