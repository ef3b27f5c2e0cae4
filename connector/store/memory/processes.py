"""Memory repositories of the DSP processes: negotiations, agreements and transfer processes.

Negotiations and transfers share the same keys (``id``, ``(role, consumer_pid)``, ``(role, provider_pid)``) and
the same optimistic locking, implemented once in :class:`_ProcessTable`.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from connector.domain import Agreement, Negotiation, TransferProcess
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.memory.tables import Tables, detached, page
from connector.store.page import Page
from connector.store.protocols import DEFAULT_LIMIT

P = TypeVar("P", Negotiation, TransferProcess)


class _ProcessTable(Generic[P]):
    """Keys and optimistic locking over one ``dict`` of processes."""

    def __init__(self, rows: dict[str, P], noun: str) -> None:
        self._rows: dict[str, P] = rows
        self._noun = noun

    def collision(self, process: P) -> str | None:
        """The unique key ``process`` would violate, if any."""
        if process.id in self._rows:
            return f"id {process.id!r}"
        for other in self._rows.values():
            if other.role != process.role:
                continue
            if process.consumer_pid is not None and other.consumer_pid == process.consumer_pid:
                return f"{process.role} consumer_pid {process.consumer_pid!r}"
            if process.provider_pid is not None and other.provider_pid == process.provider_pid:
                return f"{process.role} provider_pid {process.provider_pid!r}"
        return None

    def add(self, process: P) -> None:
        if (key := self.collision(process)) is not None:
            raise DuplicateKey(f"{self._noun} with {key} already exists")
        self._rows[process.id] = detached(process)

    def get_or_add(self, process: P) -> tuple[P, bool]:
        if process.consumer_pid is not None:
            existing = self.find_by_consumer_pid(process.role, process.consumer_pid)
            if existing is not None:
                return existing, False
        self.add(process)
        return detached(process), True

    def get(self, process_id: str) -> P:
        if (process := self._rows.get(process_id)) is None:
            raise NotFound(f"{self._noun} {process_id!r} not found")
        return detached(process)

    def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> P | None:
        for process in self._rows.values():
            if process.role == role and process.consumer_pid == consumer_pid:
                return detached(process)
        return None

    def find_by_provider_pid(self, role: Role, provider_pid: str) -> P | None:
        for process in self._rows.values():
            if process.role == role and process.provider_pid == provider_pid:
                return detached(process)
        return None

    def update(self, process: P, expected_version: int | None) -> P:
        expected = process.version if expected_version is None else expected_version
        stored = self.get(process.id)
        if stored.version != expected:
            raise Conflict(
                f"{self._noun} {process.id!r} is at version {stored.version}, not {expected}: reload and retry"
            )
        del self._rows[process.id]
        try:
            new = process.evolve(version=expected + 1)
            self.add(new)
        except BaseException:
            self._rows[process.id] = stored
            raise
        return new


class MemoryNegotiations:
    def __init__(self, tables: Tables) -> None:
        self._t = tables
        self._table = _ProcessTable(tables.negotiations, "negotiation")

    async def add(self, negotiation: Negotiation) -> None:
        self._table.add(negotiation)

    async def get_or_add(self, negotiation: Negotiation) -> tuple[Negotiation, bool]:
        return self._table.get_or_add(negotiation)

    async def get(self, negotiation_id: str) -> Negotiation:
        return self._table.get(negotiation_id)

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> Negotiation | None:
        return self._table.find_by_consumer_pid(role, consumer_pid)

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> Negotiation | None:
        return self._table.find_by_provider_pid(role, provider_pid)

    async def update(self, negotiation: Negotiation, expected_version: int | None = None) -> Negotiation:
        return self._table.update(negotiation, expected_version)

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        state: NegotiationState | None = None,
        role: Role | None = None,
        counter_party_id: str | None = None,
        pending: bool | None = None,
    ) -> Page[Negotiation]:
        return page(
            self._t.negotiations.values(),
            offset=offset,
            limit=limit,
            where=lambda n: (
                (state is None or n.state == state)
                and (role is None or n.role == role)
                and (counter_party_id is None or n.counter_party_id == counter_party_id)
                and (pending is None or n.pending == pending)
            ),
            order=lambda n: (n.created_at, n.id),
        )


class MemoryAgreements:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, agreement: Agreement) -> None:
        if agreement.negotiation_id not in self._t.negotiations:
            raise NotFound(f"negotiation {agreement.negotiation_id!r} (of agreement {agreement.id!r}) not found")
        if agreement.id in self._t.agreements:
            raise DuplicateKey(f"agreement {agreement.id!r} already exists")
        self._t.agreements[agreement.id] = detached(agreement)

    async def get(self, agreement_id: str) -> Agreement:
        if (agreement := await self.find(agreement_id)) is None:
            raise NotFound(f"agreement {agreement_id!r} not found")
        return agreement

    async def find(self, agreement_id: str) -> Agreement | None:
        agreement = self._t.agreements.get(agreement_id)
        return None if agreement is None else detached(agreement)

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        asset_id: str | None = None,
        negotiation_id: str | None = None,
        participant_id: str | None = None,
        in_force: bool | None = None,
    ) -> Page[Agreement]:
        def final(a: Agreement) -> bool:
            return self._t.negotiations[a.negotiation_id].state is NegotiationState.FINALIZED

        return page(
            self._t.agreements.values(),
            offset=offset,
            limit=limit,
            where=lambda a: (
                (asset_id is None or a.asset_id == asset_id)
                and (negotiation_id is None or a.negotiation_id == negotiation_id)
                and (participant_id is None or participant_id in (a.provider_id, a.consumer_id))
                and (in_force is None or final(a) == in_force)
            ),
            order=lambda a: (a.signed_at, a.id),
        )


class MemoryTransfers:
    def __init__(self, tables: Tables) -> None:
        self._t = tables
        self._table = _ProcessTable(tables.transfers, "transfer process")

    def _check_agreement(self, transfer: TransferProcess) -> None:
        if transfer.agreement_id not in self._t.agreements:
            raise NotFound(f"agreement {transfer.agreement_id!r} (of transfer process {transfer.id!r}) not found")

    async def add(self, transfer: TransferProcess) -> None:
        self._check_agreement(transfer)
        self._table.add(transfer)

    async def get_or_add(self, transfer: TransferProcess) -> tuple[TransferProcess, bool]:
        self._check_agreement(transfer)
        return self._table.get_or_add(transfer)

    async def get(self, transfer_id: str) -> TransferProcess:
        return self._table.get(transfer_id)

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> TransferProcess | None:
        return self._table.find_by_consumer_pid(role, consumer_pid)

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> TransferProcess | None:
        return self._table.find_by_provider_pid(role, provider_pid)

    async def update(self, transfer: TransferProcess, expected_version: int | None = None) -> TransferProcess:
        self._check_agreement(transfer)
        return self._table.update(transfer, expected_version)

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        state: TransferState | None = None,
        role: Role | None = None,
        counter_party_id: str | None = None,
        agreement_id: str | None = None,
    ) -> Page[TransferProcess]:
        return page(
            self._t.transfers.values(),
            offset=offset,
            limit=limit,
            where=lambda t: (
                (state is None or t.state == state)
                and (role is None or t.role == role)
                and (counter_party_id is None or t.counter_party_id == counter_party_id)
                and (agreement_id is None or t.agreement_id == agreement_id)
            ),
            order=lambda t: (t.created_at, t.id),
        )
