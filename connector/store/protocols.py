"""The store contract: repositories grouped in a transaction, implemented in memory and in SQL.

Both implementations pass one contract test suite (``tests/integration/store``). Rules every method follows:

- time is a parameter (``now=``), never read inside the store;
- lookups that may legitimately miss return ``None`` (``find_*``); ``get`` raises :class:`~.errors.NotFound`;
- ``add`` raises :class:`~.errors.DuplicateKey` and leaves the transaction usable;
- processes are updated with optimistic locking: ``update(entity, expected_version)`` stores ``entity`` with
  ``version = expected_version + 1`` and raises :class:`~.errors.Conflict` if the stored version differs;
- listings are ordered by ``created_at`` then ``id`` and paged with ``offset``/``limit`` (:class:`~.page.Page`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from connector.domain import (
    Agreement,
    Asset,
    ClaimsSnapshot,
    ContractDefinition,
    DutyState,
    IdempotencyRecord,
    Negotiation,
    Obligation,
    OutboxMessage,
    OutboxStatus,
    PolicyDefinition,
    ProcessKind,
    SealedRecord,
    TransferProcess,
    UsageRecord,
)
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.store.page import Page

DEFAULT_LIMIT = 50


class AssetRepository(Protocol):
    async def add(self, asset: Asset) -> None:
        """Insert; DuplicateKey if the id exists."""

    async def get(self, asset_id: str) -> Asset:
        """NotFound if absent."""

    async def update(self, asset: Asset) -> None:
        """Replace the stored asset with the same id; NotFound if absent."""

    async def delete(self, asset_id: str) -> None:
        """NotFound if absent."""

    async def list(
        self, *, offset: int = 0, limit: int = DEFAULT_LIMIT, ids: tuple[str, ...] | None = None
    ) -> Page[Asset]:
        """All assets, or only those whose id is in ``ids`` (a contract definition's selector)."""


class PolicyDefinitionRepository(Protocol):
    async def add(self, policy: PolicyDefinition) -> None:
        """Insert; DuplicateKey if the id exists."""

    async def get(self, policy_id: str) -> PolicyDefinition:
        """NotFound if absent."""

    async def update(self, policy: PolicyDefinition) -> None:
        """Replace; NotFound if absent."""

    async def delete(self, policy_id: str) -> None:
        """NotFound if absent; Conflict while a contract definition refers to it."""

    async def list(self, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[PolicyDefinition]: ...


class ContractDefinitionRepository(Protocol):
    async def add(self, definition: ContractDefinition) -> None:
        """Insert; NotFound if either policy definition is missing; DuplicateKey if the id exists."""

    async def get(self, definition_id: str) -> ContractDefinition:
        """NotFound if absent."""

    async def update(self, definition: ContractDefinition) -> None:
        """Replace; NotFound if it or a policy it names is absent."""

    async def delete(self, definition_id: str) -> None:
        """NotFound if absent."""

    async def list(self, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[ContractDefinition]: ...


class NegotiationRepository(Protocol):
    async def add(self, negotiation: Negotiation) -> None:
        """Insert; DuplicateKey if the id, ``(role, consumer_pid)`` or ``(role, provider_pid)`` exists."""

    async def get_or_add(self, negotiation: Negotiation) -> tuple[Negotiation, bool]:
        """Insert, or return the stored negotiation with the same ``(role, consumer_pid)`` and ``False``.

        The idempotency of an initial ContractRequestMessage (DSP 2025-1 §negotiation). The caller must check
        that the returned negotiation belongs to the same counter-party. DuplicateKey on any other collision.
        """

    async def get(self, negotiation_id: str) -> Negotiation:
        """NotFound if absent."""

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> Negotiation | None: ...

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> Negotiation | None: ...

    async def update(self, negotiation: Negotiation, expected_version: int | None = None) -> Negotiation:
        """Store ``negotiation`` if the stored version is ``expected_version`` (default ``negotiation.version``).

        Returns what was stored (version incremented). NotFound if absent, Conflict on a version mismatch,
        DuplicateKey if a pid collides (then roll the transaction back: PostgreSQL has aborted it).
        """

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        state: NegotiationState | None = None,
        role: Role | None = None,
        counter_party_id: str | None = None,
        pending: bool | None = None,
    ) -> Page[Negotiation]: ...


class AgreementRepository(Protocol):
    async def add(self, agreement: Agreement) -> None:
        """Insert; NotFound if its negotiation is missing; DuplicateKey if the id exists."""

    async def get(self, agreement_id: str) -> Agreement:
        """NotFound if absent."""

    async def find(self, agreement_id: str) -> Agreement | None: ...

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
        """``participant_id`` matches either the provider or the consumer of an agreement.

        ``in_force``: True lists the agreements whose negotiation is FINALIZED, False those whose negotiation is
        not (yet, or ended TERMINATED: DSP 2025-1 lets either side terminate in AGREED or VERIFIED, which voids the
        agreement), None all. An agreement is recorded when its negotiation reaches AGREED, since both sides must
        hold it from then on, but it is in force only once the provider's FINALIZED event is acknowledged.
        """


class TransferRepository(Protocol):
    async def add(self, transfer: TransferProcess) -> None:
        """Insert; NotFound if its agreement is missing; DuplicateKey on id or pid collisions."""

    async def get_or_add(self, transfer: TransferProcess) -> tuple[TransferProcess, bool]:
        """Insert, or return the stored process with the same ``(role, consumer_pid)`` and ``False``.

        Makes TransferRequestMessage idempotent on ``consumerPid`` (DSP 2025-1 §transfer). The caller must check
        that the returned process belongs to the same counter-party. DuplicateKey on any other collision.
        """

    async def get(self, transfer_id: str) -> TransferProcess:
        """NotFound if absent."""

    async def find_by_consumer_pid(self, role: Role, consumer_pid: str) -> TransferProcess | None: ...

    async def find_by_provider_pid(self, role: Role, provider_pid: str) -> TransferProcess | None: ...

    async def update(self, transfer: TransferProcess, expected_version: int | None = None) -> TransferProcess:
        """As :meth:`NegotiationRepository.update`."""

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        state: TransferState | None = None,
        role: Role | None = None,
        counter_party_id: str | None = None,
        agreement_id: str | None = None,
    ) -> Page[TransferProcess]: ...


class OutboxRepository(Protocol):
    async def enqueue(self, message: OutboxMessage) -> None:
        """Persist ``message`` in the caller's transaction (with the state change it belongs to)."""

    async def get(self, message_id: str) -> OutboxMessage:
        """NotFound if absent."""

    async def has_pending(self, process_kind: ProcessKind, process_id: str) -> bool:
        """Whether a message of the process is still pending (e.g. waiting behind the one just delivered)."""

    async def claim(
        self, owner: str, *, now: dt.datetime, lease_seconds: float, limit: int = 10
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` pending messages due at ``now`` whose lease is free or expired.

        Each claimed message gets ``lease_owner=owner``, ``lease_expires_at=now+lease_seconds`` and one more
        ``attempts``; oldest due first. Concurrent claimers (other transactions, processes or hosts on the same
        database) never receive the same message while its lease holds. A message is only due when no earlier
        message (by ``created_at``, then ``id``) of the same process is still pending: each process's messages go
        out one at a time, in order.
        """

    async def mark_sent(self, message_id: str, *, owner: str | None = None) -> None:
        """Delivered (the peer ACKed). With ``owner``: Conflict unless that worker still holds the lease."""

    async def reschedule(
        self, message_id: str, *, next_attempt_at: dt.datetime, error: str, owner: str | None = None
    ) -> None:
        """Delivery failed; release the lease and retry at ``next_attempt_at``."""

    async def mark_failed(self, message_id: str, *, error: str, owner: str | None = None) -> None:
        """Give up: the message will not be claimed again."""

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        process_kind: ProcessKind | None = None,
        process_id: str | None = None,
        status: OutboxStatus | None = None,
    ) -> Page[OutboxMessage]: ...


class IdempotencyRepository(Protocol):
    async def add(self, record: IdempotencyRecord) -> None:
        """Insert; DuplicateKey if the key exists (a concurrent request with the same key won)."""

    async def find(self, key: str) -> IdempotencyRecord | None: ...

    async def purge(self, *, created_before: dt.datetime) -> int:
        """Forget records older than ``created_before``; returns how many."""


class JtiRepository(Protocol):
    async def remember(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        """Record ``jti`` until ``expires_at``; False if it is already recorded and not expired at ``now``."""

    async def purge_expired(self, now: dt.datetime) -> int:
        """Forget ids expired at ``now``; returns how many."""


class LedgerRepository(Protocol):
    """This participant's usage ledger (one per database), kept in ``seq`` order."""

    async def lock_head(self) -> SealedRecord | None:
        """Take the ledger's append lock until the transaction ends and return its last record (None if empty).

        Appends are serialised per ledger by this lock so ``seq``/``prev`` stay one chain with concurrent
        writers, also across processes on PostgreSQL (an advisory transaction lock; SQLite transactions are
        already serialised by ``BEGIN IMMEDIATE``)."""

    async def append(self, entry: SealedRecord) -> None:
        """Insert after :meth:`lock_head` in the same transaction; DuplicateKey if ``seq`` exists."""

    async def head(self) -> SealedRecord | None:
        """The last record, without locking."""

    async def list(
        self,
        *,
        after_seq: int = 0,
        limit: int = DEFAULT_LIMIT,
        transfer_id: str | None = None,
        agreement_id: str | None = None,
    ) -> list[SealedRecord]:
        """Records with ``seq > after_seq`` in ``seq`` order, optionally of one transfer or agreement."""


class UsageRepository(Protocol):
    """Uses of agreements (reserved, completed, aborted) and the claims snapshots of running transfers."""

    async def reserve(self, record: UsageRecord) -> None:
        """Insert a reservation; DuplicateKey if the id exists."""

    async def finish(
        self, record_id: str, *, state: str, bytes_sent: int, digest: str | None, at: dt.datetime
    ) -> UsageRecord:
        """Move a *reserved* use to ``completed`` or ``aborted``; NotFound if absent, Conflict if not reserved."""

    async def count(self, agreement_id: str) -> int:
        """Uses of the agreement that count: reserved (including those a crash left) and completed."""

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
    ) -> Page[UsageRecord]: ...

    async def save_claims(self, snapshot: ClaimsSnapshot) -> None:
        """Insert or replace the snapshot of ``snapshot.transfer_id``."""

    async def claims(self, transfer_id: str) -> ClaimsSnapshot | None: ...


class ObligationRepository(Protocol):
    """Duties of agreements followed through not-set, fulfilled and violated."""

    async def add(self, obligation: Obligation) -> None:
        """Insert; DuplicateKey if the id exists."""

    async def get(self, obligation_id: str) -> Obligation:
        """NotFound if absent."""

    async def update(self, obligation: Obligation) -> None:
        """Replace; NotFound if absent."""

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
        state: DutyState | None = None,
    ) -> Page[Obligation]:
        """Ordered by ``created_at`` then ``id``."""


class Transaction(Protocol):
    """The repositories of one unit of work; committed when the ``transaction()`` block exits normally."""

    @property
    def assets(self) -> AssetRepository: ...
    @property
    def policies(self) -> PolicyDefinitionRepository: ...
    @property
    def contract_definitions(self) -> ContractDefinitionRepository: ...
    @property
    def negotiations(self) -> NegotiationRepository: ...
    @property
    def agreements(self) -> AgreementRepository: ...
    @property
    def transfers(self) -> TransferRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def jtis(self) -> JtiRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def usage(self) -> UsageRepository: ...
    @property
    def obligations(self) -> ObligationRepository: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never when it rolls back); callbacks run in the
        order they were added and must not raise."""
        ...


class Store(Protocol):
    """A connector database. ``async with store.transaction() as tx:`` commits at the end of the block and
    rolls back (persisting nothing) when the block raises."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        """One-transaction :meth:`JtiRepository.remember`; makes a store a ``connector.identity`` JtiStore."""

    async def close(self) -> None: ...
