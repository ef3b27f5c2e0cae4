"""The base of every persisted entity: an immutable, validated pydantic model.

Entities are values: a change is a new instance (``entity.model_copy(update=...)`` or :meth:`Entity.evolve`),
and the store decides whether it may replace the stored one (optimistic locking on ``version`` for processes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, field_validator

#: A JSON object as stored: ODRL policies, DSP messages and data addresses are kept in their compact JSON-LD form.
JsonObject = dict[str, Any]


class Entity(BaseModel):
    """Frozen, strict about unknown fields, validated on construction; timestamps normalised to UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        # One representation of an instant, so entities compare equal before and after a store round trip.
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        return value

    def evolve(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and validated (``model_copy`` alone does not validate)."""
        return type(self).model_validate({**self.model_dump(), **changes})
