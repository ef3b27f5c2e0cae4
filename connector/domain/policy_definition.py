"""Policy definitions: named ODRL policies the provider refers to from contract definitions (EDC §10.4)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject


class PolicyDefinition(Entity):
    """An ODRL policy kept as compact JSON-LD; the ``policies`` package parses it when it is evaluated."""

    id: str = Field(min_length=1)
    policy: JsonObject
    created_at: AwareDatetime
