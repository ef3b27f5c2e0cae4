"""``count`` (Vocab §2.5): executions of the rule's action, from the usage ledger's counters.

The ledger counts per action IRI; the count for a rule on ``use`` sums every counted action ``includedIn``⁺
``use`` (IM §2.4: a read is a use). Without a ledger value the constraint's own ``status`` (IM §2.5.1: "the value
generated from the leftOperand action") is used; with neither the constraint is indeterminate.
"""

from __future__ import annotations

from typing import Any

from policies.model import Constraint
from policies.operands.registry import Context, Missing, Operand, OperandRegistry
from policies.vocabulary import ODRL, action_covers


def _count(context: Context, constraint: Constraint) -> Any:
    counters = context.world.counters
    if counters:
        action = context.rule.action.iri if context.rule else context.request.action
        matching = [n for a, n in counters.items() if action_covers(action, a)]
        if matching:
            return sum(matching)
        return 0
    if constraint.status is not None:
        return constraint.status.value
    return Missing("the usage ledger supplied no counters and the constraint has no status")


def register(registry: OperandRegistry) -> None:
    registry.register(Operand(ODRL + "count", "decimal", _count, "executions of the rule's action (ledger counters)"))
