"""SQL repositories of the DSP processes: negotiations, agreements and transfer processes.

Updates are one ``UPDATE ... WHERE id = :id AND version = :expected`` (optimistic locking, dsp.md §10.3 and
performance.md §6.1); only when it matches no row does a second query tell NotFound from Conflict. The statements
of the hot paths are built once per table (see ``rows.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, Table, Update, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain import Agreement, Negotiation, TransferProcess
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.page import Page
from connector.store.protocols import DEFAULT_LIMIT
from connector.store.sql.direct import run
from connector.store.sql.rows import insert_if_absent, integrity_errors, row_values, select_one, select_page
from connector.store.sql.tables import AGREEMENTS, NEGOTIATIONS, TRANSFERS

P = TypeVar("P", Negotiation, TransferProcess)


@dataclass(frozen=True)
class _Statements:
    by_id: Select[Any]
    by_consumer_pid: Select[Any]
    by_provider_pid: Select[Any]
    #: SET takes the columns of the parameters; ``_id`` and ``_expected`` select the row and its version.
    versioned_update: Update
    version_of: Select[Any]


_AGREEMENT_BY_ID = select(AGREEMENTS).where(AGREEMENTS.c.id == bindparam("id"))
_NEGOTIATION_EXISTS = select(exists().where(NEGOTIATIONS.c.id == bindparam("id")))
_AGREEMENT_EXISTS = select(exists().where(AGREEMENTS.c.id == bindparam("id")))


async def _agreement_exists(conn: AsyncConnection, agreement_id: str) -> bool:
    return bool((await run(conn, _AGREEMENT_EXISTS, {"id": agreement_id})).scalar())


@cache
def _statements(table: Table) -> _Statements:
    c = table.c
    versioned_update = update(table).where(c.id == bindparam("_id"), c.version == bindparam("_expected"))
    if table is TRANSFERS:
        # The agreement must exist (NotFound otherwise, store contract): checked inside the update, so the usual
        # case is one statement; only an update that matched no row asks why (see _ProcessTable.update).
        versioned_update = versioned_update.where(exists().where(AGREEMENTS.c.id == bindparam("_agreement_id")))
    return _Statements(
        by_id=select(table).where(c.id == bindparam("id")),
        by_consumer_pid=select(table).where(c.role == bindparam("role"), c.consumer_pid == bindparam("pid")),
        by_provider_pid=select(table).where(c.role == bindparam("role"), c.provider_pid == bindparam("pid")),
        versioned_update=versioned_update,
        version_of=select(c.version).where(c.id == bindparam("id")),
    )


class _ProcessTable(Generic[P]):
    """Keys and optimistic locking over one process table."""

    def __init__(self, conn: AsyncConnection, table: Table, model: type[P], noun: str) -> None:
        self._conn = conn
        self._table: Table = table
        self._model: type[P] = model
        self._noun = noun
        self._sql = _statements(table)

    async def add(self, process: P) -> None:
        if not await insert_if_absent(self._conn, self._table, row_values(process)):
            raise DuplicateKey(f"{self._noun} with id {process.id!r} or the same {process.role} pid already exists")

    async def get_or_add(self, process: P) -> tuple[P, bool]:
        if await insert_if_absent(self._conn, self._table, row_values(process)):
            return process, True
        # The insert lost to a committed (or, on PostgreSQL, concurrently committing) row: return that one.
        if process.consumer_pid is not None:
            existing = await self.find_by_consumer_pid(process.role, process.consumer_pid)
            if existing is not None:
                return existing, False
        raise DuplicateKey(f"{self._noun} with id {process.id!r} or provider_pid {process.provider_pid!r} exists")

    async def get(self, process_id: str) -> P:
        process = await select_one(self._conn, self._model, self._sql.by_id, {"id": process_id})
        if process is None:
            raise NotFound(f"{self._noun} {process_id!r} not found")
        return process

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> P | None:
        params = {"role": role.value, "pid": consumer_pid}
        return await select_one(self._conn, self._model, self._sql.by_consumer_pid, params)

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> P | None:
        params = {"role": role.value, "pid": provider_pid}
        return await select_one(self._conn, self._model, self._sql.by_provider_pid, params)

    async def update(self, process: P, expected_version: int | None) -> P:
        expected = process.version if expected_version is None else expected_version
        new = process.evolve(version=expected + 1)
        values = row_values(new)
        values.update(_id=process.id, _expected=expected)
        if isinstance(new, TransferProcess):
            values["_agreement_id"] = new.agreement_id
        with integrity_errors():
            result = await run(self._conn, self._sql.versioned_update, values)
        if result.rowcount:
            return new
        if isinstance(new, TransferProcess) and not await _agreement_exists(self._conn, new.agreement_id):
            raise NotFound(f"agreement {new.agreement_id!r} (of transfer process {process.id!r}) not found")
        stored = (await run(self._conn, self._sql.version_of, {"id": process.id})).scalar()
        if stored is None:
            raise NotFound(f"{self._noun} {process.id!r} not found")
        raise Conflict(f"{self._noun} {process.id!r} is at version {stored}, not {expected}: reload and retry")


class SqlNegotiations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._table = _ProcessTable(conn, NEGOTIATIONS, Negotiation, "negotiation")

    async def add(self, negotiation: Negotiation) -> None:
        await self._table.add(negotiation)

    async def get_or_add(self, negotiation: Negotiation) -> tuple[Negotiation, bool]:
        return await self._table.get_or_add(negotiation)

    async def get(self, negotiation_id: str) -> Negotiation:
        return await self._table.get(negotiation_id)

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> Negotiation | None:
        return await self._table.find_by_consumer_pid(role, consumer_pid)

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> Negotiation | None:
        return await self._table.find_by_provider_pid(role, provider_pid)

    async def update(self, negotiation: Negotiation, expected_version: int | None = None) -> Negotiation:
        return await self._table.update(negotiation, expected_version)

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
        c = NEGOTIATIONS.c
        statement = select(NEGOTIATIONS)
        if state is not None:
            statement = statement.where(c.state == state.value)
        if role is not None:
            statement = statement.where(c.role == role.value)
        if counter_party_id is not None:
            statement = statement.where(c.counter_party_id == counter_party_id)
        if pending is not None:
            statement = statement.where(c.pending == pending)
        order = (c.created_at, c.id)
        return await select_page(self._conn, Negotiation, statement, offset=offset, limit=limit, order=order)


class SqlAgreements:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, agreement: Agreement) -> None:
        if not (await run(self._conn, _NEGOTIATION_EXISTS, {"id": agreement.negotiation_id})).scalar():
            raise NotFound(f"negotiation {agreement.negotiation_id!r} (of agreement {agreement.id!r}) not found")
        if not await insert_if_absent(self._conn, AGREEMENTS, row_values(agreement)):
            raise DuplicateKey(f"agreement {agreement.id!r} already exists")

    async def get(self, agreement_id: str) -> Agreement:
        if (agreement := await self.find(agreement_id)) is None:
            raise NotFound(f"agreement {agreement_id!r} not found")
        return agreement

    async def find(self, agreement_id: str) -> Agreement | None:
        return await select_one(self._conn, Agreement, _AGREEMENT_BY_ID, {"id": agreement_id})

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
        c = AGREEMENTS.c
        statement = select(AGREEMENTS)
        if in_force is not None:
            final = select(NEGOTIATIONS.c.id).where(NEGOTIATIONS.c.state == NegotiationState.FINALIZED.value)
            statement = statement.where(c.negotiation_id.in_(final) if in_force else c.negotiation_id.not_in(final))
        if asset_id is not None:
            statement = statement.where(c.asset_id == asset_id)
        if negotiation_id is not None:
            statement = statement.where(c.negotiation_id == negotiation_id)
        if participant_id is not None:
            statement = statement.where(or_(c.provider_id == participant_id, c.consumer_id == participant_id))
        order = (c.signed_at, c.id)
        return await select_page(self._conn, Agreement, statement, offset=offset, limit=limit, order=order)


class SqlTransfers:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._table = _ProcessTable(conn, TRANSFERS, TransferProcess, "transfer process")

    async def _check_agreement(self, transfer: TransferProcess) -> None:
        if not await _agreement_exists(self._conn, transfer.agreement_id):
            raise NotFound(f"agreement {transfer.agreement_id!r} (of transfer process {transfer.id!r}) not found")

    async def add(self, transfer: TransferProcess) -> None:
        await self._check_agreement(transfer)
        await self._table.add(transfer)

    async def get_or_add(self, transfer: TransferProcess) -> tuple[TransferProcess, bool]:
        await self._check_agreement(transfer)
        return await self._table.get_or_add(transfer)

    async def get(self, transfer_id: str) -> TransferProcess:
        return await self._table.get(transfer_id)

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> TransferProcess | None:
        return await self._table.find_by_consumer_pid(role, consumer_pid)

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> TransferProcess | None:
        return await self._table.find_by_provider_pid(role, provider_pid)

    async def update(self, transfer: TransferProcess, expected_version: int | None = None) -> TransferProcess:
        return await self._table.update(transfer, expected_version)  # checks the agreement in the same statement

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
        c = TRANSFERS.c
        statement = select(TRANSFERS)
        if state is not None:
            statement = statement.where(c.state == state.value)
        if role is not None:
            statement = statement.where(c.role == role.value)
        if counter_party_id is not None:
            statement = statement.where(c.counter_party_id == counter_party_id)
        if agreement_id is not None:
            statement = statement.where(c.agreement_id == agreement_id)
        order = (c.created_at, c.id)
        return await select_page(self._conn, TransferProcess, statement, offset=offset, limit=limit, order=order)
