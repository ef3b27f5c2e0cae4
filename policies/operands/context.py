"""Contextual left operands read from the request parameters, else from the world's facts (Vocab §2.5).

``purpose``, ``recipient``, ``spatial``, ``industry``, ``language`` (BCP 47, case-insensitive), ``event``,
``payAmount`` / ``percentage`` (decimal; ``unit`` must match when both sides state one) and the rendition
operands. A value may be a list: a request can state several purposes. ``event`` compares the named event; its
before / during / after reading needs event times the connector does not model, so only ``eq``/``neq`` and the set
operators are meaningful for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.model import Constraint
from policies.operands.registry import Context, Missing, Operand, OperandRegistry
from policies.values import Kind
from policies.vocabulary import ODRL

_KINDS: dict[str, Kind] = {
    "payAmount": "decimal",
    "percentage": "decimal",
    "resolution": "decimal",
    "absoluteSize": "decimal",
    "relativeSize": "decimal",
    "absolutePosition": "decimal",
    "relativePosition": "decimal",
    "language": "language",
}
_TOKENS = [
    "purpose",
    "recipient",
    "spatial",
    "industry",
    "event",
    "media",
    "product",
    "deliveryChannel",
    "fileFormat",
    "version",
    "virtualLocation",
    "systemDevice",
    "spatialCoordinates",
    "unitOfCount",
    "absoluteSpatialPosition",
    "absoluteTemporalPosition",
    "relativeSpatialPosition",
    "relativeTemporalPosition",
    "device",
    "system",
]


def _parameter(context: Context, constraint: Constraint) -> Any:
    iri = constraint.left_operand
    value = context.request.parameters.get(iri)
    if value is None:
        value = context.world.facts.get(iri)
    if value is None:
        return Missing(f"the request states no {iri.rsplit('/', 1)[-1]}")
    if isinstance(value, Mapping) and "value" in value:
        unit = value.get("unit")
        if constraint.unit and unit and unit != constraint.unit:
            return Missing(f"unit {unit} does not match the constraint's unit {constraint.unit}")
        return value["value"]
    return value


def register(registry: OperandRegistry) -> None:
    for name, kind in _KINDS.items():
        registry.register(Operand(ODRL + name, kind, _parameter, f"request parameter {name}"))
    for name in _TOKENS:
        registry.register(Operand(ODRL + name, "token", _parameter, f"request parameter {name}"))
