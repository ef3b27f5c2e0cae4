"""Persistence: store Protocols with memory and SQL (SQLAlchemy 2, Alembic) implementations.

Both implementations pass one contract test suite (``tests/integration/store``) over memory, SQLite and
PostgreSQL. Services use the :class:`Store` protocol only; they never commit — the transaction block does.

Opening and closing (no module-level engines)::

    store = await open_store("sqlite:///state/connector.db")   # or "postgresql://…", or "memory://"
    store = await SqlStore.open(url, upgrade=True)              # runs `alembic upgrade head` first
    await migrate(url, revision="head"); await downgrade(url, revision="base")
    await store.close()

Unit of work (commit at the end of the block, rollback — nothing persisted — if it raises)::

    async with store.transaction() as tx:
        negotiation = await tx.negotiations.get(negotiation_id)
        await tx.negotiations.update(negotiation.evolve(state=NegotiationState.AGREED, updated_at=now))
        await tx.outbox.enqueue(message)       # in the same transaction as the state change

Repositories on ``tx`` (signatures in :mod:`connector.store.protocols`):

- ``tx.assets``, ``tx.policies``, ``tx.contract_definitions``: ``add(e)``, ``get(id)``, ``update(e)``,
  ``delete(id)``, ``list(*, offset=0, limit=50, …) -> Page[E]`` (assets filter ``ids=``). Deleting a policy
  definition a contract definition uses raises Conflict; adding a contract definition whose policies do not exist
  raises NotFound.
- ``tx.negotiations``, ``tx.transfers``: ``add(p)``, ``get_or_add(p) -> (p, created)`` (idempotent on
  ``(role, consumer_pid)``), ``get(id)``, ``find_by_consumer_pid(role, pid)``, ``find_by_provider_pid(role, pid)``
  (``-> P | None``), ``update(p, expected_version=None) -> P`` (optimistic lock; version + 1),
  ``list(*, offset, limit, state=, role=, counter_party_id=, pending= | agreement_id=)``.
- ``tx.agreements``: ``add``, ``get``, ``find``, ``list(*, asset_id=, negotiation_id=, participant_id=)``.
- ``tx.outbox``: ``enqueue(msg)``, ``get(id)``, ``claim(owner, *, now, lease_seconds, limit=10) -> list``,
  ``mark_sent(id, *, owner=None)``, ``reschedule(id, *, next_attempt_at, error, owner=None)``,
  ``mark_failed(id, *, error, owner=None)``, ``list(*, process_kind=, process_id=, status=)``.
- ``tx.idempotency``: ``add(record)``, ``find(key) -> record | None``, ``purge(*, created_before) -> int``.
- ``tx.ledger`` (usage ledger): ``lock_head() -> last | None`` (serialises appends until commit), ``append(e)``,
  ``head()``, ``list(*, after_seq=0, limit, transfer_id=, agreement_id=) -> list`` in ``seq`` order.
- ``tx.usage``: ``reserve(r)``, ``finish(id, *, state, bytes_sent, digest, at)``, ``count(agreement_id)`` (reserved +
  completed), ``list(...)``, ``save_claims(snapshot)``, ``claims(transfer_id)``.
- ``tx.obligations``: ``add``, ``get``, ``update``, ``list(*, agreement_id=, transfer_id=, state=)``.
- ``tx.jtis``: ``remember(jti, expires_at, now) -> bool``, ``purge_expired(now) -> int``;
  ``store.remember_jti(jti, expires_at, now)`` does the same in its own transaction (``identity.JtiStore``).

Errors (:mod:`connector.store.errors`, all :class:`~connector.errors.ConnectorError`): :class:`StoreError` >
:class:`NotFound`, :class:`Conflict` (version mismatch, lost lease, still referenced), :class:`DuplicateKey`.
Time is always a parameter; the store never reads the clock.
"""

from connector.store.errors import Conflict, DuplicateKey, NotFound, StoreError
from connector.store.memory import MemoryStore
from connector.store.opening import MEMORY_URL, open_store
from connector.store.page import MAX_LIMIT, Page
from connector.store.protocols import (
    AgreementRepository,
    AssetRepository,
    ContractDefinitionRepository,
    IdempotencyRepository,
    JtiRepository,
    LedgerRepository,
    NegotiationRepository,
    ObligationRepository,
    OutboxRepository,
    PolicyDefinitionRepository,
    Store,
    Transaction,
    TransferRepository,
    UsageRepository,
)
from connector.store.sql import SqlStore, UnsupportedDatabase, downgrade, migrate

__all__ = [
    "MAX_LIMIT",
    "MEMORY_URL",
    "AgreementRepository",
    "AssetRepository",
    "Conflict",
    "ContractDefinitionRepository",
    "DuplicateKey",
    "IdempotencyRepository",
    "JtiRepository",
    "LedgerRepository",
    "MemoryStore",
    "NegotiationRepository",
    "NotFound",
    "ObligationRepository",
    "OutboxRepository",
    "Page",
    "PolicyDefinitionRepository",
    "SqlStore",
    "Store",
    "StoreError",
    "Transaction",
    "TransferRepository",
    "UnsupportedDatabase",
    "UsageRepository",
    "downgrade",
    "migrate",
    "open_store",
]
