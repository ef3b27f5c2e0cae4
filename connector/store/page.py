"""One page of a listing: offset/limit pagination in a stable order (``created_at``, then ``id``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Upper bound of ``limit``; the management API exposes at most this many items per request.
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """``items`` starting at ``offset``; ``next_offset`` is ``None`` on the last page."""

    items: tuple[T, ...]
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, window: Sequence[T], *, offset: int, limit: int) -> Page[T]:
        """Build a page from up to ``limit + 1`` rows (the extra row only says that a next page exists)."""
        more = len(window) > limit
        return cls(items=tuple(window[:limit]), offset=offset, next_offset=offset + limit if more else None)


def check_window(offset: int, limit: int) -> None:
    """Reject windows no caller should ask for (a programming error, not a store state)."""
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
