"""Contract negotiations as persisted by either side (DSP 2025-1 §negotiation).

``consumer_pid`` and ``provider_pid`` are the DSP process ids; the side that has not heard from the peer yet has
one of them unset. ``version`` is the optimistic lock the store checks on update (dsp.md §10.3: EDC leases and
versions its state machines the same way); ``pending`` holds the process for a manual step (EDC's pending guard).
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject
from connector.domain.process_error import ProcessError
from connector.dsp.states import NegotiationState, Role


class Negotiation(Entity):
    """One contract negotiation, from this connector's point of view (``role``)."""

    id: str = Field(min_length=1)
    role: Role
    consumer_pid: str | None = None
    provider_pid: str | None = None
    #: The peer's participant id (a DID) and its DSP address (provider base URL or consumer callbackAddress).
    counter_party_id: str
    counter_party_address: str
    state: NegotiationState
    #: Every offer exchanged so far, oldest first, as compact JSON-LD ODRL ``Offer`` objects.
    offers: tuple[JsonObject, ...] = ()
    agreement: JsonObject | None = None
    agreement_id: str | None = None
    asset_id: str
    error: ProcessError | None = None
    pending: bool = False
    version: int = Field(default=0, ge=0)
    created_at: AwareDatetime
    updated_at: AwareDatetime
