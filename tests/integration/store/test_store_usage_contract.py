"""Store contract: the usage ledger (serialised appends), use reservations, claims snapshots and obligations."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from connector.domain import ClaimsSnapshot, Obligation, SealedRecord, UsageRecord
from connector.store import Conflict, DuplicateKey, NotFound, Store

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def entry(seq: int, prev: str, **over: object) -> SealedRecord:
    values: dict[str, object] = {
        "seq": seq,
        "kind": "access",
        "at": "2026-01-01T12:00:00.000000Z",
        "agreement_id": "urn:agreement:1",
        "transfer_id": f"tp-{seq % 2}",
        "counterparty": "did:web:consumer.example",
        "data": {"decision": "permit", "bytes": 10, "nested": {"n": [1, None]}},
        "prev": prev,
        "digest": f"{seq:064x}",
        "signature": "e30..c2ln",
    }
    return SealedRecord.model_validate({**values, **over})


def use(n: int, agreement: str = "urn:agreement:1", **over: object) -> UsageRecord:
    values: dict[str, object] = {
        "id": f"use-{n}",
        "agreement_id": agreement,
        "transfer_id": "tp-1",
        "consumer": "did:web:consumer.example",
        "purpose": "research",
        "created_at": T0 + dt.timedelta(seconds=n),
    }
    return UsageRecord.model_validate({**values, **over})


async def test_ledger_appends_in_seq_order_and_filters(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.ledger.lock_head() is None
        prev = "0" * 64
        for seq in range(1, 6):
            await tx.ledger.append(entry(seq, prev))
            prev = f"{seq:064x}"
        with pytest.raises(DuplicateKey):
            await tx.ledger.append(entry(3, prev))
    async with store.transaction() as tx:
        head = await tx.ledger.head()
        assert head is not None
        assert head.seq == 5
        records = await tx.ledger.list()
        assert [r.seq for r in records] == [1, 2, 3, 4, 5]
        assert records[0] == entry(1, "0" * 64)
        assert [r.seq for r in await tx.ledger.list(after_seq=2, limit=2)] == [3, 4]
        assert [r.seq for r in await tx.ledger.list(transfer_id="tp-1")] == [1, 3, 5]
        assert await tx.ledger.list(agreement_id="other") == []


async def test_ledger_appends_from_concurrent_stores_stay_one_chain(backend) -> None:
    stores = [await backend.open() for _ in range(3)]

    async def append(store: Store) -> None:
        async with store.transaction() as tx:
            head = await tx.ledger.lock_head()
            seq, prev = (0, "0" * 64) if head is None else (head.seq, head.digest)
            await asyncio.sleep(0)  # let the others try to interleave while we hold the lock
            await tx.ledger.append(entry(seq + 1, prev))

    await asyncio.gather(*(append(stores[i % 3]) for i in range(12)))
    async with stores[0].transaction() as tx:
        records = await tx.ledger.list(limit=100)
    assert [r.seq for r in records] == list(range(1, 13))
    assert all(r.prev == (records[i - 1].digest if i else "0" * 64) for i, r in enumerate(records))


async def test_usage_reservations_count_until_aborted(store: Store) -> None:
    async with store.transaction() as tx:
        for n in range(1, 4):
            await tx.usage.reserve(use(n))
        await tx.usage.reserve(use(9, agreement="urn:agreement:2"))
        with pytest.raises(DuplicateKey):
            await tx.usage.reserve(use(1))
        assert await tx.usage.count("urn:agreement:1") == 3
    async with store.transaction() as tx:
        done = await tx.usage.finish("use-1", state="completed", bytes_sent=5_000_000_000, digest="ab", at=T0)
        assert done.state == "completed"
        assert done.bytes == 5_000_000_000
        assert done.finished_at == T0
        await tx.usage.finish("use-2", state="aborted", bytes_sent=7, digest=None, at=T0)
        with pytest.raises(Conflict):
            await tx.usage.finish("use-2", state="completed", bytes_sent=7, digest=None, at=T0)
        with pytest.raises(NotFound):
            await tx.usage.finish("use-x", state="completed", bytes_sent=0, digest=None, at=T0)
    async with store.transaction() as tx:
        # completed and (crash-left) reserved uses count, aborted ones do not
        assert await tx.usage.count("urn:agreement:1") == 2
        page = await tx.usage.list(agreement_id="urn:agreement:1")
        assert [(u.id, u.state) for u in page.items] == [
            ("use-1", "completed"),
            ("use-2", "aborted"),
            ("use-3", "reserved"),
        ]
        assert [u.id for u in (await tx.usage.list(transfer_id="tp-1", limit=1)).items] == ["use-1"]


async def test_claims_snapshot_is_replaced(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.usage.claims("tp-1") is None
        await tx.usage.save_claims(ClaimsSnapshot(transfer_id="tp-1", consumer="did:c", claims={"a": 1}, seen_at=T0))
        later = T0 + dt.timedelta(hours=1)
        await tx.usage.save_claims(
            ClaimsSnapshot(transfer_id="tp-1", consumer="did:c", claims={"a": [2]}, seen_at=later)
        )
    async with store.transaction() as tx:
        snapshot = await tx.usage.claims("tp-1")
        assert snapshot is not None
        assert snapshot.claims == {"a": [2]}
        assert snapshot.seen_at == later


async def test_obligations_move_through_states(store: Store) -> None:
    duty = Obligation(
        id="ob-1",
        agreement_id="urn:agreement:1",
        transfer_id="tp-1",
        side="consumer",
        action="delete",
        due_at=T0 + dt.timedelta(days=1),
        created_at=T0,
        updated_at=T0,
    )
    async with store.transaction() as tx:
        await tx.obligations.add(duty)
        await tx.obligations.add(duty.evolve(id="ob-2", action="notify", side="provider"))
        with pytest.raises(DuplicateKey):
            await tx.obligations.add(duty)
    async with store.transaction() as tx:
        await tx.obligations.update(duty.evolve(state="fulfilled", details={"attestation": "x"}))
        with pytest.raises(NotFound):
            await tx.obligations.update(duty.evolve(id="nope"))
        assert (await tx.obligations.get("ob-1")).state == "fulfilled"
        assert [o.id for o in (await tx.obligations.list(state="not-set")).items] == ["ob-2"]
        assert [o.id for o in (await tx.obligations.list(agreement_id="urn:agreement:1")).items] == ["ob-1", "ob-2"]
        with pytest.raises(NotFound):
            await tx.obligations.get("nope")
