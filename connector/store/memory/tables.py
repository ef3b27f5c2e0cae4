"""The memory store's data: one dict per entity kind, snapshotted at the start of each transaction.

Entities are immutable, so a shallow copy of each dict is a complete snapshot; rollback restores it. Stored
entities are deep copies so a caller mutating a returned ``dict`` field cannot change the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from pydantic import BaseModel

from connector.domain import (
    Agreement,
    Asset,
    ClaimsSnapshot,
    ContractDefinition,
    IdempotencyRecord,
    Negotiation,
    Obligation,
    OutboxMessage,
    PolicyDefinition,
    SealedRecord,
    TransferProcess,
    UsageRecord,
)
from connector.store.page import Page, check_window

M = TypeVar("M", bound=BaseModel)


@dataclass
class Tables:
    assets: dict[str, Asset] = field(default_factory=dict)
    policies: dict[str, PolicyDefinition] = field(default_factory=dict)
    contract_definitions: dict[str, ContractDefinition] = field(default_factory=dict)
    negotiations: dict[str, Negotiation] = field(default_factory=dict)
    agreements: dict[str, Agreement] = field(default_factory=dict)
    transfers: dict[str, TransferProcess] = field(default_factory=dict)
    outbox: dict[str, OutboxMessage] = field(default_factory=dict)
    idempotency: dict[str, IdempotencyRecord] = field(default_factory=dict)
    jtis: dict[str, dt.datetime] = field(default_factory=dict)
    ledger: dict[int, SealedRecord] = field(default_factory=dict)
    usage: dict[str, UsageRecord] = field(default_factory=dict)
    claims: dict[str, ClaimsSnapshot] = field(default_factory=dict)
    obligations: dict[str, Obligation] = field(default_factory=dict)

    def snapshot(self) -> Tables:
        return Tables(**{f.name: dict(getattr(self, f.name)) for f in fields(self)})

    def restore(self, snapshot: Tables) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(snapshot, f.name))


def detached(entity: M) -> M:
    """A deep copy, so that stored and returned entities share no mutable ``dict``/``list``."""
    return entity.model_copy(deep=True)


def page(
    entities: Iterable[M], *, offset: int, limit: int, where: Callable[[M], bool], order: Callable[[M], Any]
) -> Page[M]:
    """Filter, order and slice like the SQL store (``ORDER BY created_at, id LIMIT limit+1 OFFSET offset``)."""
    check_window(offset, limit)
    ordered = sorted((e for e in entities if where(e)), key=order)
    return Page.of([detached(e) for e in ordered[offset : offset + limit + 1]], offset=offset, limit=limit)
