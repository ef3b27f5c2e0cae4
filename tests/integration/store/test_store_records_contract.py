"""Store contract: idempotency keys and DCP token replay (``jti``) records."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from connector.store import DuplicateKey, Store

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def test_jti_is_refused_until_it_expires(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.jtis.remember("did:web:a|j1", at(60), T0) is True
        assert await tx.jtis.remember("did:web:a|j1", at(60), at(30)) is False  # replay
        assert await tx.jtis.remember("did:web:a|j1", at(120), at(59)) is False
        assert await tx.jtis.remember("did:web:b|j1", at(60), T0) is True  # another issuer
    async with store.transaction() as tx:
        # Expired: the id may be recorded again, with the new expiry.
        assert await tx.jtis.remember("did:web:a|j1", at(200), at(60)) is True
        assert await tx.jtis.remember("did:web:a|j1", at(300), at(199)) is False


async def test_store_level_remember_jti_is_its_own_transaction(backend) -> None:
    first, second = await backend.open(), await backend.open()
    assert await first.remember_jti("j", at(60), T0) is True
    assert await second.remember_jti("j", at(60), at(1)) is False


async def test_racing_verifiers_accept_a_jti_once(backend) -> None:
    first, second = await backend.open(), await backend.open()
    results = await asyncio.gather(
        *(store.remember_jti("raced", at(60), T0) for store in (first, second, first, second))
    )
    assert sorted(results) == [False, False, False, True]


async def test_purge_expired_jtis(store: Store) -> None:
    async with store.transaction() as tx:
        for n in range(3):
            await tx.jtis.remember(f"j{n}", at(10 * n), T0)
        assert await tx.jtis.purge_expired(at(10)) == 2  # expiry at 0 and 10
        assert await tx.jtis.remember("j2", at(50), at(15)) is False
        assert await tx.jtis.remember("j0", at(50), at(15)) is True


async def test_idempotency_records(store: Store, make) -> None:
    record = make.idempotency(response={"@id": "asset-1", "nested": {"a": [1, None]}})
    old = make.idempotency(created_at=at(-3600))
    async with store.transaction() as tx:
        await tx.idempotency.add(record)
        await tx.idempotency.add(old)
        with pytest.raises(DuplicateKey):
            await tx.idempotency.add(record.evolve(request_hash="sha256:other"))
        assert await tx.idempotency.find(record.key) == record
        assert await tx.idempotency.find("missing") is None
    async with store.transaction() as tx:
        assert await tx.idempotency.purge(created_before=at(-60)) == 1
        assert await tx.idempotency.find(old.key) is None
        assert await tx.idempotency.find(record.key) == record
