"""Left operands: one module per family, and the (scope, IRI) registry the evaluator resolves them through.

:func:`default_registry` holds the built-ins bound in every scope; the connector copies it and binds its own
operands per scope, and :meth:`OperandRegistry.load_entry_points` adds plugins (group ``gxc.policy_operands``).
"""

from __future__ import annotations

from functools import cache

from policies.operands import context, count, credential, time
from policies.operands.registry import (
    ANY_SCOPE,
    ENTRY_POINT_GROUP,
    SCOPES,
    Context,
    Deferred,
    Missing,
    Operand,
    OperandRegistry,
)


@cache
def _builtins() -> OperandRegistry:
    registry = OperandRegistry()
    for family in (time, count, context, credential):
        family.register(registry)
    return registry


def default_registry() -> OperandRegistry:
    """A fresh registry with every built-in operand bound in all scopes (safe to extend)."""
    return _builtins().copy()


def shared_registry() -> OperandRegistry:
    """The read-only built-in registry the evaluator uses when none is given (do not register into it)."""
    return _builtins()


__all__ = [
    "ANY_SCOPE",
    "ENTRY_POINT_GROUP",
    "SCOPES",
    "Context",
    "Deferred",
    "Missing",
    "Operand",
    "OperandRegistry",
    "default_registry",
    "shared_registry",
]
