"""Store contract: the outbox (persisted intent, leases, retries; ARCHITECTURE.md house rule 2)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from connector.domain import OutboxStatus, ProcessKind
from connector.store import Conflict, DuplicateKey, NotFound, Store

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
LEASE = 30.0


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def test_enqueue_round_trip(store: Store, make) -> None:
    message = make.message(process_kind=ProcessKind.TRANSFER, body={"@type": "TransferStartMessage", "n": [1]})
    async with store.transaction() as tx:
        await tx.outbox.enqueue(message)
        with pytest.raises(DuplicateKey):
            await tx.outbox.enqueue(message)
    async with store.transaction() as tx:
        assert await tx.outbox.get(message.id) == message
        with pytest.raises(NotFound):
            await tx.outbox.get("missing")


async def test_claim_leases_due_messages_oldest_first(store: Store, make) -> None:
    late = make.message(id="m-late", next_attempt_at=at(10))
    due_second = make.message(id="m-b", next_attempt_at=at(-5))
    due_first = make.message(id="m-a", next_attempt_at=at(-10))
    due_third = make.message(id="m-c", next_attempt_at=at(0))
    async with store.transaction() as tx:
        for message in (late, due_second, due_first, due_third):
            await tx.outbox.enqueue(message)
    async with store.transaction() as tx:
        claimed = await tx.outbox.claim("worker-1", now=T0, lease_seconds=LEASE, limit=2)
    assert [m.id for m in claimed] == ["m-a", "m-b"]
    assert all(m.lease_owner == "worker-1" and m.lease_expires_at == at(LEASE) for m in claimed)
    assert all(m.attempts == 1 for m in claimed)
    async with store.transaction() as tx:
        rest = await tx.outbox.claim("worker-2", now=T0, lease_seconds=LEASE, limit=10)
        assert [m.id for m in rest] == ["m-c"]  # m-a, m-b leased; m-late not due
        assert await tx.outbox.claim("worker-2", now=at(5), lease_seconds=LEASE) == []
        assert await tx.outbox.get("m-a") == claimed[0]


async def test_expired_leases_are_claimed_again(store: Store, make) -> None:
    message = make.message()
    async with store.transaction() as tx:
        await tx.outbox.enqueue(message)
        [first] = await tx.outbox.claim("crashed-worker", now=T0, lease_seconds=LEASE)
        assert await tx.outbox.claim("worker-2", now=at(LEASE - 1), lease_seconds=LEASE) == []
        [second] = await tx.outbox.claim("worker-2", now=at(LEASE), lease_seconds=LEASE)
    assert (first.attempts, second.attempts) == (1, 2)
    assert second.lease_owner == "worker-2"
    assert second.lease_expires_at == at(2 * LEASE)
    async with store.transaction() as tx:
        with pytest.raises(Conflict, match="lease lost"):
            await tx.outbox.mark_sent(message.id, owner="crashed-worker")
        await tx.outbox.mark_sent(message.id, owner="worker-2")


async def test_sent_and_failed_messages_are_never_claimed(store: Store, make) -> None:
    sent, failed = make.message(), make.message()
    async with store.transaction() as tx:
        await tx.outbox.enqueue(sent)
        await tx.outbox.enqueue(failed)
        await tx.outbox.claim("w", now=T0, lease_seconds=LEASE)
        await tx.outbox.mark_sent(sent.id, owner="w")
        await tx.outbox.mark_failed(failed.id, error="peer answered 400", owner="w")
    async with store.transaction() as tx:
        assert await tx.outbox.claim("w", now=at(10 * LEASE), lease_seconds=LEASE) == []
        stored_sent, stored_failed = await tx.outbox.get(sent.id), await tx.outbox.get(failed.id)
        with pytest.raises(NotFound):
            await tx.outbox.mark_sent("missing")
    assert stored_sent.status is OutboxStatus.SENT
    assert (stored_sent.lease_owner, stored_sent.lease_expires_at) == (None, None)
    assert (stored_failed.status, stored_failed.last_error) == (OutboxStatus.FAILED, "peer answered 400")


async def test_reschedule_releases_the_lease_until_the_next_attempt(store: Store, make) -> None:
    message = make.message()
    async with store.transaction() as tx:
        await tx.outbox.enqueue(message)
        await tx.outbox.claim("w", now=T0, lease_seconds=LEASE)
        await tx.outbox.reschedule(message.id, next_attempt_at=at(8), error="connection refused", owner="w")
        stored = await tx.outbox.get(message.id)
        assert (stored.status, stored.lease_owner, stored.last_error) == (
            OutboxStatus.PENDING,
            None,
            "connection refused",
        )
        assert stored.next_attempt_at == at(8)
        assert await tx.outbox.claim("w", now=at(7), lease_seconds=LEASE) == []
        [again] = await tx.outbox.claim("w2", now=at(8), lease_seconds=LEASE)
        assert again.attempts == 2
        with pytest.raises(Conflict):
            await tx.outbox.reschedule(message.id, next_attempt_at=at(9), error="x", owner="w")
        # Without an owner (e.g. an operator) the message is settled regardless of the lease.
        await tx.outbox.mark_failed(message.id, error="given up")
        assert (await tx.outbox.get(message.id)).status is OutboxStatus.FAILED


async def test_a_process_sends_one_message_at_a_time_in_order(store: Store, make) -> None:
    """A message is due only when no earlier message of its process is pending (leased, or waiting for a retry);
    ties in ``created_at`` are broken by ``id`` (UUIDv7 ids sort in creation order)."""
    first = make.message(id="t-1", process_kind=ProcessKind.TRANSFER, process_id="p", created_at=at(0))
    second = make.message(id="t-2", process_kind=ProcessKind.TRANSFER, process_id="p", created_at=at(0))
    third = make.message(id="t-3", process_kind=ProcessKind.TRANSFER, process_id="p", created_at=at(1))
    same_id_other_kind = make.message(id="n-9", process_kind=ProcessKind.NEGOTIATION, process_id="p")
    async with store.transaction() as tx:
        for message in (third, second, first, same_id_other_kind):
            await tx.outbox.enqueue(message)
        assert await tx.outbox.has_pending(ProcessKind.TRANSFER, "p")
        claimed = await tx.outbox.claim("w", now=at(5), lease_seconds=LEASE, limit=10)
        assert sorted(m.id for m in claimed) == ["n-9", "t-1"]
        assert await tx.outbox.claim("w", now=at(5), lease_seconds=LEASE, limit=10) == []  # t-1 leased
        await tx.outbox.reschedule("t-1", next_attempt_at=at(9), error="down", owner="w")
        assert await tx.outbox.claim("w", now=at(6), lease_seconds=LEASE) == []  # t-1 waits for its retry
        [again] = await tx.outbox.claim("w", now=at(9), lease_seconds=LEASE)
        assert again.id == "t-1"
        await tx.outbox.mark_sent("t-1", owner="w")
        assert [m.id for m in await tx.outbox.claim("w", now=at(9), lease_seconds=LEASE)] == ["t-2"]
        await tx.outbox.mark_failed("t-2", error="rejected", owner="w")  # a failed message no longer holds the line
        assert [m.id for m in await tx.outbox.claim("w", now=at(9), lease_seconds=LEASE)] == ["t-3"]
        await tx.outbox.mark_sent("t-3", owner="w")
        assert not await tx.outbox.has_pending(ProcessKind.TRANSFER, "p")
        assert await tx.outbox.has_pending(ProcessKind.NEGOTIATION, "p")


async def test_outbox_list_filters(store: Store, make) -> None:
    messages = [
        make.message(id="o1", process_kind=ProcessKind.NEGOTIATION, process_id="n-1"),
        make.message(id="o2", process_kind=ProcessKind.TRANSFER, process_id="t-1"),
        make.message(id="o3", process_kind=ProcessKind.NEGOTIATION, process_id="n-1", created_at=at(1)),
    ]
    async with store.transaction() as tx:
        for message in messages:
            await tx.outbox.enqueue(message)
        await tx.outbox.mark_sent("o1")
        assert [m.id for m in (await tx.outbox.list(process_id="n-1")).items] == ["o1", "o3"]
        assert [m.id for m in (await tx.outbox.list(process_kind=ProcessKind.TRANSFER)).items] == ["o2"]
        assert [m.id for m in (await tx.outbox.list(status=OutboxStatus.PENDING)).items] == ["o2", "o3"]


async def test_concurrent_claimers_on_one_database_never_share_a_message(backend, make) -> None:
    """Two stores (two engines: like two worker processes) claim in parallel until nothing is due."""
    first, second = await backend.open(), await backend.open()
    messages = [make.message() for _ in range(40)]
    async with first.transaction() as tx:
        for message in messages:
            await tx.outbox.enqueue(message)

    async def worker(store: Store, owner: str) -> list[str]:
        claimed: list[str] = []
        while True:
            async with store.transaction() as tx:
                batch = await tx.outbox.claim(owner, now=T0, lease_seconds=LEASE, limit=3)
            if not batch:
                return claimed
            claimed.extend(m.id for m in batch)
            await asyncio.sleep(0)

    results = await asyncio.gather(worker(first, "w1"), worker(second, "w2"), worker(first, "w3"), worker(second, "w4"))
    every = [message_id for result in results for message_id in result]
    assert sorted(every) == sorted(m.id for m in messages)  # each exactly once
    async with second.transaction() as tx:
        stored = (await tx.outbox.list(limit=100)).items
    assert all(m.attempts == 1 for m in stored)


async def test_a_claim_skips_rows_another_open_transaction_holds(backend, make) -> None:
    """PostgreSQL's FOR UPDATE SKIP LOCKED: a second claimer does not wait for, nor take, locked rows."""
    if backend.name != "postgres":
        pytest.skip("only PostgreSQL runs claims concurrently; SQLite and memory serialise transactions")
    first, second = await backend.open(), await backend.open()
    async with first.transaction() as tx:
        for _ in range(4):
            await tx.outbox.enqueue(make.message())
    async with first.transaction() as tx1:
        held = await tx1.outbox.claim("w1", now=T0, lease_seconds=LEASE, limit=2)
        async with second.transaction() as tx2:
            others = await tx2.outbox.claim("w2", now=T0, lease_seconds=LEASE, limit=4)
    assert len(held) == 2
    assert len(others) == 2
    assert not {m.id for m in held} & {m.id for m in others}
