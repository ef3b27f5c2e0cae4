"""Store contract: assets, policy definitions and contract definitions (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.domain import FileDataAddress, HttpDataAddress
from connector.store import Conflict, DuplicateKey, NotFound, Store


async def test_asset_round_trip_keeps_every_field(store: Store, make) -> None:
    http, file = make.asset(), make.file_asset(description=None, content_type=None, keywords=())
    async with store.transaction() as tx:
        await tx.assets.add(http)
        await tx.assets.add(file)
    async with store.transaction() as tx:
        got_http, got_file = await tx.assets.get(http.id), await tx.assets.get(file.id)
    assert got_http == http
    assert got_file == file
    assert isinstance(got_http.data_address, HttpDataAddress)
    assert got_http.data_address.headers["Authorization"].secret == "backend-token"
    assert isinstance(got_file.data_address, FileDataAddress)
    assert got_http.created_at.tzinfo is not None


async def test_timestamps_in_other_zones_come_back_as_the_same_instant_in_utc(store: Store, make) -> None:
    cest = dt.timezone(dt.timedelta(hours=2))
    asset = make.asset(created_at=dt.datetime(2026, 6, 1, 14, 0, 0, 123456, tzinfo=cest))
    async with store.transaction() as tx:
        await tx.assets.add(asset)
        got = await tx.assets.get(asset.id)
    assert got.created_at == asset.created_at
    assert got.created_at.utcoffset() == dt.timedelta(0)


async def test_asset_update_delete_and_missing(store: Store, make) -> None:
    asset = make.asset()
    async with store.transaction() as tx:
        await tx.assets.add(asset)
        with pytest.raises(DuplicateKey):
            await tx.assets.add(asset)
        await tx.assets.update(asset.evolve(title="Renamed", properties={"v": 2}))
        assert (await tx.assets.get(asset.id)).title == "Renamed"
        await tx.assets.delete(asset.id)
        with pytest.raises(NotFound):
            await tx.assets.get(asset.id)
        with pytest.raises(NotFound):
            await tx.assets.delete(asset.id)
        with pytest.raises(NotFound):
            await tx.assets.update(asset)


async def test_returned_entities_do_not_alias_stored_state(store: Store, make) -> None:
    asset = make.asset()
    async with store.transaction() as tx:
        await tx.assets.add(asset)
        (await tx.assets.get(asset.id)).properties["license"] = "mutated"
        assert (await tx.assets.get(asset.id)).properties["license"] == "CC-BY-4.0"


async def test_asset_pagination_is_stable_by_created_at_then_id(store: Store, make) -> None:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # Inserted out of order; two share a timestamp, so the id breaks the tie.
    assets = [
        make.asset(id="a-3", created_at=base + dt.timedelta(minutes=2)),
        make.asset(id="a-1", created_at=base),
        make.asset(id="a-5", created_at=base + dt.timedelta(minutes=3)),
        make.asset(id="a-2", created_at=base + dt.timedelta(minutes=1)),
        make.asset(id="a-4", created_at=base + dt.timedelta(minutes=2)),
    ]
    async with store.transaction() as tx:
        for asset in assets:
            await tx.assets.add(asset)
        first = await tx.assets.list(limit=2)
        second = await tx.assets.list(offset=2, limit=2)
        last = await tx.assets.list(offset=4, limit=2)
        exact = await tx.assets.list(limit=5)
        selected = await tx.assets.list(ids=("a-4", "a-1", "missing"))
        none = await tx.assets.list(ids=())
    assert [a.id for a in first.items] == ["a-1", "a-2"]
    assert first.next_offset == 2
    assert [a.id for a in second.items] == ["a-3", "a-4"]
    assert [a.id for a in last.items] == ["a-5"]
    assert last.next_offset is None
    assert exact.next_offset is None
    assert [a.id for a in selected.items] == ["a-1", "a-4"]
    assert none.items == ()


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, 1001)])
async def test_list_rejects_nonsense_windows(store: Store, offset: int, limit: int) -> None:
    async with store.transaction() as tx:
        with pytest.raises(ValueError, match="must be"):
            await tx.assets.list(offset=offset, limit=limit)


async def test_policy_definitions_round_trip_and_list(store: Store, make) -> None:
    policies = [make.policy() for _ in range(3)]
    async with store.transaction() as tx:
        for policy in policies:
            await tx.policies.add(policy)
        with pytest.raises(DuplicateKey):
            await tx.policies.add(policies[0])
        await tx.policies.update(policies[0].evolve(policy={"@type": "Set", "prohibition": []}))
    async with store.transaction() as tx:
        assert (await tx.policies.get(policies[0].id)).policy == {"@type": "Set", "prohibition": []}
        assert await tx.policies.get(policies[1].id) == policies[1]
        page = await tx.policies.list(limit=10)
        with pytest.raises(NotFound):
            await tx.policies.get("missing")
    assert [p.id for p in page.items] == [p.id for p in policies]


async def test_json_documents_round_trip_exactly(store: Store, make) -> None:
    # JSON columns are written with orjson and read with the stdlib (engine.py): non-ASCII text, floats and an
    # integer beyond 64 bits (which orjson refuses to write and would read as a float) come back unchanged.
    document = {"@type": "Set", "title": "Wetterdaten über München ✓", "x": 1.5e-7, "big": 2**70, "n": [None, True]}
    policy = make.policy(policy=document)
    async with store.transaction() as tx:
        await tx.policies.add(policy)
    async with store.transaction() as tx:
        stored = (await tx.policies.get(policy.id)).policy
    assert stored == document
    assert type(stored["big"]) is int


async def test_contract_definitions_need_their_policies(store: Store, make) -> None:
    access, contract = make.policy(), make.policy()
    async with store.transaction() as tx:
        await tx.policies.add(access)
        await tx.policies.add(contract)
        with pytest.raises(NotFound, match="missing-policy"):
            await tx.contract_definitions.add(make.contract_definition(access.id, "missing-policy"))
        definition = make.contract_definition(access.id, contract.id, asset_ids=("a-1", "a-2"))
        await tx.contract_definitions.add(definition)
        with pytest.raises(DuplicateKey):
            await tx.contract_definitions.add(definition)
    async with store.transaction() as tx:
        assert await tx.contract_definitions.get(definition.id) == definition
        assert [d.id for d in (await tx.contract_definitions.list()).items] == [definition.id]
        with pytest.raises(NotFound):
            await tx.contract_definitions.update(definition.evolve(contract_policy_id="missing-policy"))
        await tx.contract_definitions.update(definition.evolve(asset_ids=("a-3",)))
        assert (await tx.contract_definitions.get(definition.id)).asset_ids == ("a-3",)


async def test_a_policy_in_use_cannot_be_deleted(store: Store, make) -> None:
    access, contract, unused = make.policy(), make.policy(), make.policy()
    definition = make.contract_definition(access.id, contract.id)
    async with store.transaction() as tx:
        for policy in (access, contract, unused):
            await tx.policies.add(policy)
        await tx.contract_definitions.add(definition)
    async with store.transaction() as tx:
        with pytest.raises(Conflict, match=definition.id):
            await tx.policies.delete(contract.id)
        await tx.policies.delete(unused.id)
        with pytest.raises(NotFound):
            await tx.policies.delete(unused.id)
        await tx.contract_definitions.delete(definition.id)
        await tx.policies.delete(contract.id)
        with pytest.raises(NotFound):
            await tx.contract_definitions.delete(definition.id)
    async with store.transaction() as tx:
        assert [p.id for p in (await tx.policies.list()).items] == [access.id]
