"""Store contract: negotiations, agreements and transfer processes (DSP 2025-1 §negotiation, §transfer)."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.domain import ProcessError
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.store import Conflict, DuplicateKey, NotFound, Store


async def add_agreement(store: Store, make) -> str:
    negotiation = make.negotiation(state=NegotiationState.FINALIZED)
    agreement = make.agreement(negotiation.id)
    async with store.transaction() as tx:
        await tx.negotiations.add(negotiation)
        await tx.agreements.add(agreement)
    return str(agreement.id)


async def test_negotiation_round_trip_keeps_every_field(store: Store, make) -> None:
    negotiation = make.negotiation(
        offers=({"@id": "urn:offer:1", "permission": [{"action": "use"}]}, {"@id": "urn:offer:2"}),
        agreement={"@id": "urn:agreement:1", "@type": "Agreement"},
        agreement_id="urn:agreement:1",
        error=ProcessError(code="policy-denied", reason="purpose mismatch", details={"rule": 1, "values": ["x"]}),
        pending=True,
        version=3,
        updated_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )
    consumer_side = make.negotiation(role=Role.CONSUMER, provider_pid=None, state=NegotiationState.REQUESTED)
    async with store.transaction() as tx:
        await tx.negotiations.add(negotiation)
        await tx.negotiations.add(consumer_side)
    async with store.transaction() as tx:
        assert await tx.negotiations.get(negotiation.id) == negotiation
        assert await tx.negotiations.get(consumer_side.id) == consumer_side
        with pytest.raises(NotFound):
            await tx.negotiations.get("missing")


async def test_negotiation_lookup_by_pid_is_per_role(store: Store, make) -> None:
    provider = make.negotiation(role=Role.PROVIDER, consumer_pid="urn:c", provider_pid="urn:p")
    # The same DSP process seen by the other side (two connectors sharing a database in a demo).
    consumer = make.negotiation(role=Role.CONSUMER, consumer_pid="urn:c", provider_pid="urn:p")
    async with store.transaction() as tx:
        await tx.negotiations.add(provider)
        await tx.negotiations.add(consumer)
        assert await tx.negotiations.find_by_consumer_pid(Role.PROVIDER, "urn:c") == provider
        assert await tx.negotiations.find_by_consumer_pid(Role.CONSUMER, "urn:c") == consumer
        assert await tx.negotiations.find_by_provider_pid(Role.PROVIDER, "urn:p") == provider
        assert await tx.negotiations.find_by_provider_pid(Role.CONSUMER, "urn:p") == consumer
        assert await tx.negotiations.find_by_consumer_pid(Role.PROVIDER, "urn:other") is None
        assert await tx.negotiations.find_by_provider_pid(Role.CONSUMER, "urn:other") is None


async def test_negotiation_pids_are_unique_per_role(store: Store, make) -> None:
    first = make.negotiation(consumer_pid="urn:c", provider_pid="urn:p")
    async with store.transaction() as tx:
        await tx.negotiations.add(first)
        with pytest.raises(DuplicateKey):
            await tx.negotiations.add(make.negotiation(consumer_pid="urn:c", provider_pid="urn:other"))
        with pytest.raises(DuplicateKey):
            await tx.negotiations.add(make.negotiation(consumer_pid="urn:other", provider_pid="urn:p"))
        with pytest.raises(DuplicateKey):
            await tx.negotiations.add(make.negotiation(id=first.id))
        # Unset pids never collide (the side that has not heard from its peer yet).
        await tx.negotiations.add(make.negotiation(role=Role.CONSUMER, provider_pid=None))
        await tx.negotiations.add(make.negotiation(role=Role.CONSUMER, provider_pid=None))
        # The transaction is still usable after DuplicateKey.
        assert (await tx.negotiations.list()).items[0] == first
    async with store.transaction() as tx:
        assert len((await tx.negotiations.list()).items) == 3


async def test_negotiation_get_or_add_is_idempotent_on_consumer_pid(store: Store, make) -> None:
    request = make.negotiation(role=Role.PROVIDER, consumer_pid="urn:c", provider_pid="urn:p1")
    repeat = make.negotiation(role=Role.PROVIDER, consumer_pid="urn:c", provider_pid="urn:p2")
    async with store.transaction() as tx:
        created, was_created = await tx.negotiations.get_or_add(request)
        again, again_created = await tx.negotiations.get_or_add(repeat)
        with pytest.raises(DuplicateKey):
            await tx.negotiations.get_or_add(make.negotiation(consumer_pid="urn:c2", provider_pid="urn:p1"))
    assert (created, was_created) == (request, True)
    assert (again, again_created) == (request, False)


async def test_negotiation_update_uses_optimistic_locking(store: Store, make) -> None:
    negotiation = make.negotiation()
    later = negotiation.updated_at + dt.timedelta(seconds=5)
    async with store.transaction() as tx:
        await tx.negotiations.add(negotiation)
        offered = await tx.negotiations.update(negotiation.evolve(state=NegotiationState.OFFERED, updated_at=later))
        assert offered.version == 1
        assert await tx.negotiations.get(negotiation.id) == offered
        with pytest.raises(Conflict, match="version 1"):
            await tx.negotiations.update(negotiation.evolve(state=NegotiationState.TERMINATED))  # stale copy
        accepted = await tx.negotiations.update(offered.evolve(state=NegotiationState.ACCEPTED))
        assert accepted.version == 2
        explicit = await tx.negotiations.update(accepted.evolve(version=0, pending=True), expected_version=2)
        assert explicit.version == 3
        with pytest.raises(NotFound):
            await tx.negotiations.update(make.negotiation())
    async with store.transaction() as tx:
        stored = await tx.negotiations.get(negotiation.id)
    assert (stored.state, stored.version, stored.pending) == (NegotiationState.ACCEPTED, 3, True)


async def test_concurrent_updates_from_two_stores_conflict(backend, make) -> None:
    first, second = await backend.open(), await backend.open()
    negotiation = make.negotiation()
    async with first.transaction() as tx:
        await tx.negotiations.add(negotiation)
    async with first.transaction() as tx:
        loaded_by_first = await tx.negotiations.get(negotiation.id)
    async with second.transaction() as tx:
        loaded_by_second = await tx.negotiations.get(negotiation.id)
    async with first.transaction() as tx:
        await tx.negotiations.update(loaded_by_first.evolve(state=NegotiationState.AGREED))
    with pytest.raises(Conflict):
        async with second.transaction() as tx:
            await tx.negotiations.update(loaded_by_second.evolve(state=NegotiationState.TERMINATED))
    async with second.transaction() as tx:
        assert (await tx.negotiations.get(negotiation.id)).state is NegotiationState.AGREED


async def test_update_that_collides_on_a_pid_is_a_duplicate(store: Store, make) -> None:
    one, two = make.negotiation(provider_pid="urn:p1"), make.negotiation(provider_pid="urn:p2")
    async with store.transaction() as tx:
        await tx.negotiations.add(one)
        await tx.negotiations.add(two)
    with pytest.raises(DuplicateKey):
        async with store.transaction() as tx:
            await tx.negotiations.update(two.evolve(provider_pid="urn:p1"))
    async with store.transaction() as tx:
        assert (await tx.negotiations.get(two.id)).provider_pid == "urn:p2"


async def test_negotiation_filters_and_pages(store: Store, make) -> None:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        make.negotiation(id="n1", created_at=base, state=NegotiationState.REQUESTED, counter_party_id="did:web:a"),
        make.negotiation(id="n2", created_at=base, state=NegotiationState.AGREED, counter_party_id="did:web:b"),
        make.negotiation(
            id="n3",
            created_at=base + dt.timedelta(seconds=1),
            state=NegotiationState.REQUESTED,
            role=Role.CONSUMER,
            counter_party_id="did:web:a",
            pending=True,
        ),
        make.negotiation(id="n4", created_at=base + dt.timedelta(seconds=2), state=NegotiationState.REQUESTED),
    ]
    async with store.transaction() as tx:
        for row in reversed(rows):
            await tx.negotiations.add(row)
        requested = await tx.negotiations.list(state=NegotiationState.REQUESTED)
        consumer = await tx.negotiations.list(role=Role.CONSUMER)
        party_a = await tx.negotiations.list(counter_party_id="did:web:a")
        pending = await tx.negotiations.list(pending=True)
        not_pending_provider = await tx.negotiations.list(pending=False, role=Role.PROVIDER, limit=2)
        page2 = await tx.negotiations.list(pending=False, role=Role.PROVIDER, offset=2, limit=2)
    assert [n.id for n in requested.items] == ["n1", "n3", "n4"]
    assert [n.id for n in consumer.items] == ["n3"]
    assert [n.id for n in party_a.items] == ["n1", "n3"]
    assert [n.id for n in pending.items] == ["n3"]
    assert [n.id for n in not_pending_provider.items] == ["n1", "n2"]
    assert not_pending_provider.next_offset == 2
    assert [n.id for n in page2.items] == ["n4"]
    assert page2.next_offset is None


async def test_agreement_round_trip_and_filters(store: Store, make) -> None:
    negotiation = make.negotiation()
    first = make.agreement(negotiation.id, asset_id="asset-a", consumer_id="did:web:c1")
    second = make.agreement(
        negotiation.id, asset_id="asset-b", consumer_id="did:web:c2", signed_at=first.signed_at + dt.timedelta(1)
    )
    async with store.transaction() as tx:
        await tx.negotiations.add(negotiation)
        with pytest.raises(NotFound, match="negotiation"):
            await tx.agreements.add(make.agreement("missing-negotiation"))
        await tx.agreements.add(first)
        await tx.agreements.add(second)
        with pytest.raises(DuplicateKey):
            await tx.agreements.add(first)
    async with store.transaction() as tx:
        assert await tx.agreements.get(first.id) == first
        assert await tx.agreements.find("missing") is None
        with pytest.raises(NotFound):
            await tx.agreements.get("missing")
        assert [a.id for a in (await tx.agreements.list()).items] == [first.id, second.id]
        assert [a.id for a in (await tx.agreements.list(asset_id="asset-b")).items] == [second.id]
        assert [a.id for a in (await tx.agreements.list(participant_id="did:web:c1")).items] == [first.id]
        by_provider = await tx.agreements.list(participant_id="did:web:provider.example")
        assert len(by_provider.items) == 2
        assert len((await tx.agreements.list(negotiation_id=negotiation.id)).items) == 2
        assert (await tx.agreements.list(negotiation_id="other")).items == ()


async def test_agreements_in_force_are_those_of_finalized_negotiations(store: Store, make) -> None:
    """An agreement is recorded at AGREED but is in force only once its negotiation is FINALIZED; one whose
    negotiation was terminated in AGREED or VERIFIED (DSP 2025-1 allows both) is void."""
    states = [NegotiationState.FINALIZED, NegotiationState.AGREED, NegotiationState.TERMINATED]
    negotiations = [make.negotiation(state=state) for state in states]
    agreements = [
        make.agreement(n.id, signed_at=dt.datetime(2026, 1, 1 + i, tzinfo=dt.UTC)) for i, n in enumerate(negotiations)
    ]
    async with store.transaction() as tx:
        for n, a in zip(negotiations, agreements, strict=True):
            await tx.negotiations.add(n)
            await tx.agreements.add(a)
    async with store.transaction() as tx:
        assert [a.id for a in (await tx.agreements.list(in_force=True)).items] == [agreements[0].id]
        assert [a.id for a in (await tx.agreements.list(in_force=False)).items] == [a.id for a in agreements[1:]]
        assert len((await tx.agreements.list()).items) == 3
        assert (await tx.agreements.list(in_force=True, asset_id="other")).items == ()
        # the negotiation finalizes: its agreement comes into force
        await tx.negotiations.update(negotiations[1].evolve(state=NegotiationState.FINALIZED))
    async with store.transaction() as tx:
        assert [a.id for a in (await tx.agreements.list(in_force=True)).items] == [a.id for a in agreements[:2]]


async def test_transfer_round_trip_and_lookups(store: Store, make) -> None:
    agreement_id = await add_agreement(store, make)
    transfer = make.transfer(
        agreement_id,
        data_address={
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "t"}],
        },
        error=ProcessError(code="x", reason="y"),
        state=TransferState.STARTED,
    )
    consumer_side = make.transfer(agreement_id, role=Role.CONSUMER, provider_pid=None, callback_address=None)
    async with store.transaction() as tx:
        with pytest.raises(NotFound, match="agreement"):
            await tx.transfers.add(make.transfer("missing-agreement"))
        await tx.transfers.add(transfer)
        await tx.transfers.add(consumer_side)
    async with store.transaction() as tx:
        assert await tx.transfers.get(transfer.id) == transfer
        assert await tx.transfers.get(consumer_side.id) == consumer_side
        assert await tx.transfers.find_by_consumer_pid(Role.PROVIDER, str(transfer.consumer_pid)) == transfer
        assert await tx.transfers.find_by_provider_pid(Role.PROVIDER, str(transfer.provider_pid)) == transfer
        assert await tx.transfers.find_by_provider_pid(Role.CONSUMER, str(transfer.provider_pid)) is None
        with pytest.raises(NotFound):
            await tx.transfers.get("missing")


async def test_repeated_transfer_request_returns_the_existing_process(store: Store, make) -> None:
    """DSP 2025-1 §transfer: TransferRequestMessage is idempotent on consumerPid."""
    agreement_id = await add_agreement(store, make)
    first = make.transfer(agreement_id, consumer_pid="urn:c")
    async with store.transaction() as tx:
        assert await tx.transfers.get_or_add(first) == (first, True)
    async with store.transaction() as tx:
        existing, created = await tx.transfers.get_or_add(make.transfer(agreement_id, consumer_pid="urn:c"))
        with pytest.raises(DuplicateKey):
            await tx.transfers.add(make.transfer(agreement_id, consumer_pid="urn:c"))
        with pytest.raises(DuplicateKey):
            await tx.transfers.get_or_add(make.transfer(agreement_id, provider_pid=first.provider_pid))
    assert (existing, created) == (first, False)
    async with store.transaction() as tx:
        assert len((await tx.transfers.list()).items) == 1


async def test_transfer_optimistic_locking_and_filters(store: Store, make) -> None:
    agreement_id = await add_agreement(store, make)
    other_agreement = await add_agreement(store, make)
    transfer = make.transfer(agreement_id)
    other = make.transfer(other_agreement, role=Role.CONSUMER, counter_party_id="did:web:p2")
    async with store.transaction() as tx:
        await tx.transfers.add(transfer)
        await tx.transfers.add(other)
        started = await tx.transfers.update(transfer.evolve(state=TransferState.STARTED))
        with pytest.raises(Conflict):
            await tx.transfers.update(transfer.evolve(state=TransferState.TERMINATED))
        with pytest.raises(NotFound):
            await tx.transfers.update(transfer.evolve(agreement_id="missing"))
        assert started.version == 1
        assert [t.id for t in (await tx.transfers.list(state=TransferState.STARTED)).items] == [transfer.id]
        assert [t.id for t in (await tx.transfers.list(role=Role.CONSUMER)).items] == [other.id]
        assert [t.id for t in (await tx.transfers.list(counter_party_id="did:web:p2")).items] == [other.id]
        assert [t.id for t in (await tx.transfers.list(agreement_id=agreement_id)).items] == [transfer.id]
        assert len((await tx.transfers.list()).items) == 2
