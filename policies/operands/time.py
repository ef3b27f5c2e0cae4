"""Temporal left operands (Vocab §2.5): ``dateTime`` from the world's ``now``; ``elapsedTime``, ``meteredTime``,
``delayPeriod`` and ``timeInterval`` from ledger measures (the library never reads a clock)."""

from __future__ import annotations

from typing import Any

from policies.model import Constraint
from policies.operands.registry import Context, Missing, Operand, OperandRegistry
from policies.vocabulary import ODRL


def _now(context: Context, constraint: Constraint) -> Any:
    return context.world.now


def _measure(context: Context, constraint: Constraint) -> Any:
    value = context.world.measures.get(constraint.left_operand)
    if value is None:
        return Missing(f"the usage ledger supplied no {constraint.left_operand.rsplit('/', 1)[-1]}")
    return value


def register(registry: OperandRegistry) -> None:
    registry.register(Operand(ODRL + "dateTime", "datetime", _now, "the time the action is exercised (world.now)"))
    for name, text in (
        ("elapsedTime", "continuous period since first use (ledger)"),
        ("meteredTime", "accumulated period of use (ledger)"),
        ("delayPeriod", "delay before exercising the action (ledger)"),
        ("timeInterval", "period between executions (ledger)"),
    ):
        registry.register(Operand(ODRL + name, "duration", _measure, text))
