"""Persisted entities of the connector: plain, frozen, validated values (pydantic), no ORM and no I/O.

Public API (all importable from ``connector.domain``):

- :class:`Entity` — base: frozen, ``extra="forbid"``; ``entity.evolve(**changes) -> Self`` returns a validated
  copy. ``JsonObject = dict[str, Any]`` is the type of stored JSON-LD documents.
- Catalog side: :class:`Asset` (``id, title, description, keywords, content_type, data_address, created_at,
  properties``) with ``data_address`` one of :class:`HttpDataAddress` (``base_url, allowed_methods, proxy_path,
  proxy_query, headers: dict[str, SecretRef]``) or :class:`FileDataAddress` (``path``), discriminated by
  ``kind``; :class:`PolicyDefinition` (``id, policy, created_at``); :class:`ContractDefinition` (``id,
  access_policy_id, contract_policy_id, asset_ids, created_at``).
- Processes (DSP 2025-1 §negotiation, §transfer): :class:`Negotiation`, :class:`Agreement`,
  :class:`TransferProcess`, each process with ``role`` (:class:`~connector.dsp.states.Role`), ``consumer_pid``,
  ``provider_pid``, ``state`` (exact DSP state names from :mod:`connector.dsp.states`), a structured
  :class:`ProcessError` (``code, reason, details``), ``pending`` and the optimistic-lock ``version``.
- Delivery and security records: :class:`OutboxMessage` (with :class:`ProcessKind`, :class:`OutboxStatus`),
  :class:`IdempotencyRecord`, :class:`JtiRecord`.

Timestamps are timezone-aware (``AwareDatetime``); nothing here reads the clock — callers pass ``now``.
"""

from connector.domain.agreement import Agreement
from connector.domain.asset import Asset, DataAddress, FileDataAddress, HttpDataAddress, SecretRef
from connector.domain.contract_definition import ContractDefinition
from connector.domain.entity import Entity, JsonObject
from connector.domain.idempotency import IdempotencyRecord
from connector.domain.jti import JtiRecord
from connector.domain.negotiation import Negotiation
from connector.domain.outbox import OutboxMessage, OutboxStatus, ProcessKind
from connector.domain.policy_definition import PolicyDefinition
from connector.domain.process_error import ProcessError
from connector.domain.transfer import TransferProcess
from connector.domain.usage import ClaimsSnapshot, DutyState, Obligation, SealedRecord, UsageRecord, UsageState

__all__ = [
    "Agreement",
    "Asset",
    "ClaimsSnapshot",
    "ContractDefinition",
    "DataAddress",
    "DutyState",
    "Entity",
    "FileDataAddress",
    "HttpDataAddress",
    "IdempotencyRecord",
    "JsonObject",
    "JtiRecord",
    "Negotiation",
    "Obligation",
    "OutboxMessage",
    "OutboxStatus",
    "PolicyDefinition",
    "ProcessError",
    "ProcessKind",
    "SealedRecord",
    "SecretRef",
    "TransferProcess",
    "UsageRecord",
    "UsageState",
]
