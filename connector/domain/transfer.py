"""Transfer processes as persisted by either side (DSP 2025-1 §transfer).

A provider makes ``TransferRequestMessage`` idempotent on ``consumerPid`` (dsp.md §5); the store's
``get_or_add`` gives the existing process back for a repeated request.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject
from connector.domain.process_error import ProcessError
from connector.dsp.states import Role, TransferState


class TransferProcess(Entity):
    """One transfer process, from this connector's point of view (``role``)."""

    id: str = Field(min_length=1)
    role: Role
    consumer_pid: str | None = None
    provider_pid: str | None = None
    agreement_id: str
    asset_id: str
    counter_party_id: str
    counter_party_address: str
    #: The consumer's ``callbackAddress`` from the TransferRequestMessage.
    callback_address: str | None = None
    #: The DSP ``format`` (``dct:format``), e.g. ``HttpData-PULL``.
    format: str
    state: TransferState
    #: The DSP ``DataAddress`` (push: the consumer's sink; pull: the provider's endpoint and token).
    data_address: JsonObject | None = None
    error: ProcessError | None = None
    pending: bool = False
    version: int = Field(default=0, ge=0)
    created_at: AwareDatetime
    updated_at: AwareDatetime
