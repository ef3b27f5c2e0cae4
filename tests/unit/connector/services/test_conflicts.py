"""An inbound message that lost an optimistic-lock race is applied again before 409 is answered."""

from __future__ import annotations

import pytest

from connector.services.conflicts import CONFLICT_ATTEMPTS, reapplied_on_conflict
from connector.store import Conflict


async def test_a_conflict_is_applied_again_with_the_same_arguments() -> None:
    calls: list[str] = []

    @reapplied_on_conflict
    async def on_message(pid: str) -> str:
        calls.append(pid)
        if len(calls) < CONFLICT_ATTEMPTS:
            raise Conflict("negotiation n is at version 3, not 2: reload and retry")
        return "applied"

    assert await on_message("urn:uuid:p") == "applied"
    assert calls == ["urn:uuid:p"] * CONFLICT_ATTEMPTS


async def test_a_lasting_conflict_still_reaches_the_caller() -> None:
    calls: list[int] = []

    @reapplied_on_conflict
    async def on_message() -> None:
        calls.append(1)
        raise Conflict("still racing")

    with pytest.raises(Conflict):
        await on_message()
    assert len(calls) == CONFLICT_ATTEMPTS


async def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    @reapplied_on_conflict
    async def on_message() -> None:
        calls.append(1)
        raise ValueError("a bad message")

    with pytest.raises(ValueError, match="bad message"):
        await on_message()
    assert calls == [1]
