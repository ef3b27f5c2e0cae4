"""Handing a just-committed outbound message straight to the outbox worker (house rule 2: latency is event-driven).

The usual path of a message is: enqueued with its state change, then claimed by the worker in a transaction of its
own (a lease, and the process read to address it), sent, settled. When a service enqueues a message that is the next
one of its process (no earlier one pending), it can instead write it already leased to this process's worker and,
once the transaction committed, hand it over in memory with its :class:`Route`: the claim transaction is skipped
(bench/negotiation.py: one transaction and two statements fewer per message, each side). Nothing else changes: the
lease is the same as a claim's, so a crash before the send leaves a leased message that expires and is claimed
again, and a message that waits behind an earlier one is enqueued unleased and claimed as before.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from connector.domain import OutboxMessage


@dataclass(frozen=True)
class Route:
    """Where a message goes: the peer's DID (our token's audience) and the message with the pids it needs."""

    audience: str
    message: OutboxMessage


class Dispatcher(Protocol):
    """The outbox worker of this process, as services see it."""

    @property
    def owner(self) -> str:
        """The lease owner a handed-over message is written with."""
        ...

    @property
    def lease_seconds(self) -> float: ...

    def handoff(self, route: Route) -> None:
        """Deliver ``route``'s message, committed and leased to :attr:`owner` (called after the commit)."""
        ...


class OutboxSignal:
    """Wakes the outbox worker, saying whether a claim is worth a transaction.

    :meth:`set`: a message may have become claimable (enqueued unleased behind another, the one before it settled,
    a retry fell due). :meth:`ring`: wake without claiming (a handover brought the message in memory). A worker
    woken only by rings skips the claim, which would find nothing due: on PostgreSQL an empty claim is a pool
    checkout and three round trips, and every negotiation rang five times per side. The worker still claims on its
    poll timeout (expired leases, other replicas' messages).
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        #: A claim was asked for since the worker last took the requests (:meth:`take`); True at start-up, so a
        #: restarted worker claims what its predecessor left.
        self.claim = True

    def set(self) -> None:
        self.claim = True
        self._event.set()

    def ring(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def take(self) -> bool:
        """Clear the signal; returns whether a claim was asked for since the last take."""
        self._event.clear()
        claim, self.claim = self.claim, False
        return claim

    async def wait(self) -> None:
        await self._event.wait()
