"""Re-applying an inbound DSP message that lost an optimistic-lock race with this connector's own processing.

On PostgreSQL the handling of a peer's message and our handling of the peer's ACK to one of ours run truly
concurrently, and both update the same process (``version`` check, performance.md §6.1). The loser used to answer
409 and the peer retried after its backoff (and its worker's poll): with messages handed to the worker right after
their commit (``services.dispatch``), a provider's ContractAgreementMessage routinely reached the consumer while the
consumer was still applying the provider's 201 to its request, and a negotiation took a second instead of tens of
milliseconds (bench/negotiation.py). The handlers are idempotent and their transaction was rolled back, so the
message is simply applied again, on fresh reads, a few times before 409 is answered.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from connector.store.errors import Conflict

#: Tries of one inbound message against concurrent updates of its process.
CONFLICT_ATTEMPTS = 3

P = ParamSpec("P")
R = TypeVar("R")


def reapplied_on_conflict(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run ``handler`` again (at most :data:`CONFLICT_ATTEMPTS` times in all) while it raises ``Conflict``."""

    @functools.wraps(handler)
    async def reapplying(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(CONFLICT_ATTEMPTS - 1):
            try:
                return await handler(*args, **kwargs)
            except Conflict:
                continue
        return await handler(*args, **kwargs)  # the last try answers as it must (409)

    return reapplying
