"""Evaluation report (W3C ODRL CG formal semantics §3 "Evaluation Report"): decision, per-rule activation and
deontic states, per-constraint satisfaction with the actual left-operand value, and a one-line explanation.

``to_json()`` is the CLI's stable ``--json`` shape; ``to_w3c()`` the CG report vocabulary as JSON-LD
(``report:PolicyReport`` / ``RuleReport`` / ``ConstraintReport`` with ``activationState``, ``satisfactionState``,
``deonticState``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from policies.vocabulary import short

Satisfaction = Literal["satisfied", "unsatisfied", "indeterminate"]
Activation = Literal["active", "inactive"]
State = Literal["permit", "deny", "not-set", "fulfilled", "violated"]

REPORT_NS = "https://w3id.org/force/compliance-report#"


@dataclass(frozen=True, slots=True)
class ConstraintResult:
    """One constraint or refinement: what was compared, the actual value and the outcome."""

    left_operand: str | None
    operator: str
    right_operand: Any
    value: Any
    satisfaction: Satisfaction
    reason: str | None = None
    operands: tuple[ConstraintResult, ...] = ()
    refinement: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "left_operand": short(self.left_operand) if self.left_operand else None,
            "operator": self.operator,
            "right_operand": self.right_operand,
            "value": self.value,
            "satisfaction": self.satisfaction,
        }
        if self.operands:
            data["operands"] = [o.to_json() for o in self.operands]
        return data

    def describe(self) -> str:
        if self.operands:
            inner = f" {self.operator} ".join(o.describe() for o in self.operands)
            return f"({inner})"
        return f"{short(self.left_operand or '')} {self.operator} {_fmt(self.right_operand)}"

    def first_failure(self) -> ConstraintResult:
        """The innermost operand responsible for a non-satisfied logical constraint (for explanations)."""
        for operand in self.operands:
            if operand.satisfaction != "satisfied" and self.operator in ("and", "andSequence"):
                return operand.first_failure()
        return self


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, str):
        return short(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule (permission, prohibition, obligation or duty) with its states."""

    uid: str
    kind: Literal["permission", "prohibition", "obligation", "duty"]
    position: int
    action: str
    activation: Activation
    state: State | None
    matched: bool
    constraints: tuple[ConstraintResult, ...] = ()
    duties: tuple[RuleResult, ...] = ()
    gating: bool = True
    indeterminate: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.uid,
            "type": self.kind,
            "activation": self.activation,
            "state": self.state,
            "constraints": [c.to_json() for c in self.constraints],
            "duties": [d.to_json() for d in self.duties],
        }

    @property
    def label(self) -> str:
        return f"{self.kind} {self.position}"

    def failure(self) -> str:
        """Why this rule does not permit / apply, in words."""
        for result in self.constraints:
            if result.satisfaction != "satisfied":
                culprit = result.first_failure()
                what = "refinement" if result.refinement else "requires"
                lead = (
                    f"{self.label} {what} {culprit.describe()}"
                    if what == "requires"
                    else f"{self.label} requires {culprit.describe()}"
                )
                if culprit.satisfaction == "indeterminate":
                    return f"{lead} but {culprit.reason or 'its value is unknown'} (indeterminate)"
                if culprit.operands or culprit.left_operand is None:
                    return f"{lead} but it does not hold"
                return f"{lead} but the request's {short(culprit.left_operand)} is {_fmt(culprit.value)}"
        for duty in self.duties:
            if duty.gating and duty.activation == "active" and duty.state != "fulfilled":
                return f"{self.label} requires duty {short(duty.action)} first, which has not been performed"
        return f"{self.label} does not hold"


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of one evaluation. ``decision`` is ``permit`` or ``deny``; ``reason`` one line of English."""

    decision: Literal["permit", "deny"]
    reason: str
    conflict: Literal["perm", "prohibit", "invalid"] | None
    rules: tuple[RuleResult, ...]
    policy: str
    scope: str
    created: str
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def permitted(self) -> bool:
        return self.decision == "permit"

    def to_json(self) -> dict[str, Any]:
        """The stable shape printed by ``gxc policy evaluate --json``."""
        return {
            "decision": self.decision,
            "reason": self.reason,
            "conflict": self.conflict,
            "rules": [r.to_json() for r in self.rules],
        }

    def explain(self) -> str:
        """A short multi-line explanation: the decision line, then one line per rule and constraint."""
        lines = [self.reason]
        for rule in self.rules:
            state = f", {rule.state}" if rule.state else ""
            lines.append(f"  {rule.label} ({short(rule.action)}): {rule.activation}{state}")
            for c in rule.constraints:
                prefix = "refinement " if c.refinement else ""
                lines.append(f"    {prefix}{c.describe()}: {c.satisfaction} (value: {_fmt(c.value)})")
            for d in rule.duties:
                monitored = "" if d.gating else " (monitored)"
                lines.append(f"    duty {short(d.action)}: {d.activation}, {d.state or 'n/a'}{monitored}")
        return "\n".join(lines)

    def to_w3c(self) -> dict[str, Any]:
        """The report in the CG evaluation-report vocabulary (FORCE compliance report terms) as JSON-LD."""

        def constraint(c: ConstraintResult) -> dict[str, Any]:
            node: dict[str, Any] = {
                "@type": "report:ConstraintReport",
                "report:satisfactionState": {"@id": f"report:{c.satisfaction.capitalize()}"},
            }
            if c.left_operand:
                node["report:leftOperand"] = {"@id": c.left_operand}
                node["report:operator"] = {"@id": "odrl:" + c.operator}
                node["report:rightOperand"] = c.right_operand
                node["report:leftOperandValue"] = c.value
            else:
                node["report:logicalOperator"] = {"@id": "odrl:" + c.operator}
                node["report:constraint"] = [constraint(o) for o in c.operands]
            return node

        def rule(r: RuleResult) -> dict[str, Any]:
            kind = {
                "permission": "PermissionReport",
                "prohibition": "ProhibitionReport",
                "obligation": "ObligationReport",
                "duty": "DutyReport",
            }[r.kind]
            node: dict[str, Any] = {
                "@type": f"report:{kind}",
                "report:rule": {"@id": r.uid},
                "report:activationState": {"@id": f"report:{r.activation.capitalize()}"},
                "report:premiseReport": [constraint(c) for c in r.constraints],
            }
            if r.kind == "permission":
                node["report:controlState"] = {"@id": f"report:{(r.state or 'deny').capitalize()}"}
            elif r.state:
                deontic = {"not-set": "NotSet", "fulfilled": "Fulfilled", "violated": "Violated", "deny": "NotSet"}[
                    r.state
                ]
                node["report:deonticState"] = {"@id": f"report:{deontic}"}
            if r.duties:
                node["report:conditionReport"] = [rule(d) for d in r.duties]
            return node

        return {
            "@context": {
                "report": REPORT_NS,
                "odrl": "http://www.w3.org/ns/odrl/2/",
                "xsd": "http://www.w3.org/2001/XMLSchema#",
            },
            "@type": "report:PolicyReport",
            "report:policy": {"@id": self.policy},
            "report:created": {"@value": self.created, "@type": "xsd:dateTime"},
            "report:result": self.decision,
            "report:reason": self.reason,
            "report:conflict": self.conflict,
            "report:ruleReport": [rule(r) for r in self.rules],
        }
