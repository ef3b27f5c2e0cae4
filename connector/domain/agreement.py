"""Contract agreements (DSP 2025-1 §negotiation: an ``Agreement`` has ``@id``, ``target``, ``assigner``,
``assignee`` and ``timestamp``)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject


class Agreement(Entity):
    """The agreement a negotiation ended with; transfers refer to it by ``id``."""

    id: str = Field(min_length=1)
    negotiation_id: str
    asset_id: str
    provider_id: str
    consumer_id: str
    #: The agreement as compact JSON-LD ODRL, exactly as exchanged.
    policy: JsonObject
    #: The agreement's ``timestamp``.
    signed_at: AwareDatetime
