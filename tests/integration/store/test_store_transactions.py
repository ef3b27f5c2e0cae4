"""Store contract: the unit of work commits at the end of the block and rolls back when the block raises."""

from __future__ import annotations

import pytest

from connector.dsp.states import NegotiationState
from connector.store import DuplicateKey, NotFound, Store


class Boom(Exception):
    pass


async def test_nothing_is_persisted_when_the_block_raises(store: Store, make) -> None:
    kept = make.negotiation()
    async with store.transaction() as tx:
        await tx.negotiations.add(kept)
    asset, policy, message = make.asset(), make.policy(), make.message()

    async def unit_of_work() -> None:
        async with store.transaction() as tx:
            await tx.assets.add(asset)
            await tx.policies.add(policy)
            await tx.negotiations.update(kept.evolve(state=NegotiationState.OFFERED))
            await tx.outbox.enqueue(message)
            await tx.jtis.remember("j", message.created_at, message.created_at)
            raise Boom

    with pytest.raises(Boom):
        await unit_of_work()
    async with store.transaction() as tx:
        with pytest.raises(NotFound):
            await tx.assets.get(asset.id)
        with pytest.raises(NotFound):
            await tx.policies.get(policy.id)
        with pytest.raises(NotFound):
            await tx.outbox.get(message.id)
        assert await tx.negotiations.get(kept.id) == kept
        assert await tx.jtis.remember("j", message.created_at, message.created_at) is True


async def test_a_store_error_escaping_the_block_rolls_back_too(store: Store, make) -> None:
    asset = make.asset()
    async with store.transaction() as tx:
        await tx.assets.add(asset)
    second = make.asset()

    async def unit_of_work() -> None:
        async with store.transaction() as tx:
            await tx.assets.add(second)
            await tx.assets.add(asset)

    with pytest.raises(DuplicateKey):
        await unit_of_work()
    async with store.transaction() as tx:
        assert [a.id for a in (await tx.assets.list()).items] == [asset.id]


async def test_a_caught_duplicate_key_leaves_the_transaction_usable(store: Store, make) -> None:
    asset = make.asset()
    async with store.transaction() as tx:
        await tx.assets.add(asset)
    other = make.asset()
    async with store.transaction() as tx:
        with pytest.raises(DuplicateKey):
            await tx.assets.add(asset)
        await tx.assets.add(other)
    async with store.transaction() as tx:
        assert await tx.assets.get(other.id) == other


async def test_committed_work_is_visible_to_another_store_on_the_same_database(backend, make) -> None:
    first, second = await backend.open(), await backend.open()
    asset = make.asset()
    async with first.transaction() as tx:
        await tx.assets.add(asset)
    async with second.transaction() as tx:
        assert await tx.assets.get(asset.id) == asset


async def test_after_commit_callbacks_run_in_order_once_committed_and_never_on_rollback(store: Store, make) -> None:
    calls: list[str] = []

    def failing() -> None:
        calls.append("failing")
        raise RuntimeError("a broken callback")

    async with store.transaction() as tx:
        await tx.assets.add(make.asset())
        tx.after_commit(lambda: calls.append("first"))
        tx.after_commit(failing)  # logged; the others still run
        tx.after_commit(lambda: calls.append("second"))
        assert calls == []
    assert calls == ["first", "failing", "second"]

    calls.clear()

    async def aborted() -> None:
        async with store.transaction() as tx:
            tx.after_commit(lambda: calls.append("rolled back"))
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await aborted()
    assert calls == []
