"""The base of every persisted entity: an immutable, validated pydantic model.

Entities are values: a change is a new instance (``entity.model_copy(update=...)`` or :meth:`Entity.evolve`),
and the store decides whether it may replace the stored one (optimistic locking on ``version`` for processes).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict

#: A JSON object as stored: ODRL policies, DSP messages and data addresses are kept in their compact JSON-LD form.
JsonObject = dict[str, Any]


class Entity(BaseModel):
    """Frozen, strict about unknown fields, validated on construction."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    def evolve(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and validated (``model_copy`` alone does not validate)."""
        return type(self).model_validate({**self.model_dump(), **changes})
