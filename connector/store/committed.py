"""After-commit callbacks of a transaction (``Transaction.after_commit``): work that must happen only once the
change is durable, such as handing a committed outbound message to the worker (``services.dispatch``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


def run_committed(callbacks: Iterable[Callable[[], None]]) -> None:
    """Call each callback; one that raises is logged and does not keep the others from running (the transaction
    has committed either way)."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed")
