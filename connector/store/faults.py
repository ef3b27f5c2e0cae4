"""Test-only fault injection for the crash-consistency tests (issue 9): off unless the environment asks for it.

``GXC_FAULT_KILL_AFTER_COMMIT=<probability>:<seed>`` makes the process SIGKILL itself right after a transaction
committed, with that probability per commit (drawn from ``random.Random(seed)``), i.e. between the database commit
and whatever was to follow it: the HTTP answer, the outbox ACK handling, the data-plane stream. Nothing else reads
it; production configurations never set it.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable

KILL_AFTER_COMMIT = "GXC_FAULT_KILL_AFTER_COMMIT"


def kill_after_commit() -> Callable[[], None] | None:
    """The hook to call after every commit, or None when the variable is unset (the default)."""
    value = os.environ.get(KILL_AFTER_COMMIT)
    if not value:
        return None
    probability, _, seed = value.partition(":")
    draw = random.Random(int(seed or "0")).random  # noqa: S311 - seeded fault schedule, not security
    chance = float(probability)

    def maybe_die() -> None:
        if draw() < chance:
            os.kill(os.getpid(), signal.SIGKILL)

    return maybe_die
