"""Outbound DSP messages as persisted intent (ARCHITECTURE.md house rule 2; dsp.md §10.3).

A service enqueues a message in the same transaction as the state change that requires it; a worker claims due
messages under a lease, sends them and, on the peer's ACK, marks them sent in the transaction that commits the
next state. A crashed worker's lease expires and another worker re-claims the message.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject


class ProcessKind(StrEnum):
    NEGOTIATION = "negotiation"
    TRANSFER = "transfer"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Entity):
    """One message to deliver to ``target_url``."""

    id: str = Field(min_length=1)
    process_kind: ProcessKind
    process_id: str
    #: The DSP message ``@type``, e.g. ``ContractRequestMessage``.
    message_type: str
    target_url: str
    body: JsonObject
    #: How many times a worker claimed the message (each claim is one delivery attempt).
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: AwareDatetime
    lease_owner: str | None = None
    lease_expires_at: AwareDatetime | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    last_error: str | None = None
    created_at: AwareDatetime
