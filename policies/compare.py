"""Negotiation support (DSP 2025-1 contract negotiation; odrl.md §3.3, §4): semantic equivalence of an offer and
a request, "narrower than", and agreement construction.

Policies are compared after expansion and normalisation, never as JSON text (EDC's structural equality is a top
user complaint): rule and constraint order (except ``andSequence``), blank-node identifiers, the policy's own
uid/type, and the lexical form of right operands (``"3"`` vs ``3``, ``Z`` vs ``+00:00``) do not matter; the rules'
targets and parties are compared separately by the caller (DSP moves them to the policy level).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from policies.errors import PolicyError
from policies.model import Asset, Constraint, ConstraintNode, LogicalConstraint, Party, Policy, Rule
from policies.operands import shared_registry
from policies.operators import holds
from policies.values import Value, coerce, key
from policies.vocabulary import ODRL, action_covers


def _typed(constraint: Constraint) -> tuple[Value, ...] | None:
    operand = shared_registry().lookup("*", constraint.left_operand)
    kind = operand.kind if operand else "token"
    try:
        return tuple(coerce(t.value, kind) for t in constraint.right_operand)
    except ValueError:
        return None


def _canon(node: ConstraintNode) -> Any:
    if isinstance(node, LogicalConstraint):
        inner = [_canon(o) for o in node.operands]
        return (node.operator, tuple(inner) if node.operator == "andSequence" else frozenset(inner))
    typed = _typed(node)
    right = frozenset(key(v) for v in typed) if typed is not None else frozenset(t.value for t in node.right_operand)
    return (node.left_operand, node.operator, right, node.right_operand_reference, node.unit)


def _rule_canon(rule: Rule) -> Any:
    return (
        rule.kind,
        rule.action.iri,
        frozenset(_canon(c) for c in rule.action.refinements),
        frozenset(_canon(c) for c in rule.constraints),
        frozenset(_rule_canon(d) for d in rule.duties),
        frozenset(_rule_canon(d) for d in rule.consequences),
        frozenset(_rule_canon(d) for d in rule.remedies),
    )


def normalize(policy: Policy) -> Any:
    """A hashable normal form of the policy's rules (what negotiation compares)."""
    return (
        frozenset(_rule_canon(r) for r in policy.permissions),
        frozenset(_rule_canon(r) for r in policy.prohibitions),
        frozenset(_rule_canon(r) for r in policy.obligations),
    )


def equivalent(a: Policy, b: Policy) -> bool:
    """Whether two policies state the same rules after normalisation (DSP: the request matches the offer)."""
    return bool(normalize(a) == normalize(b))


def _implies(a: ConstraintNode, b: ConstraintNode) -> bool:
    """Whether constraint ``a`` entails ``b`` (sound, not complete: unknown ⇒ False)."""
    if _canon(a) == _canon(b):
        return True
    if isinstance(b, LogicalConstraint) and b.operator == "or":
        return any(_implies(a, o) for o in b.operands)
    if isinstance(a, LogicalConstraint):
        return a.operator in ("and", "andSequence") and any(_implies(o, b) for o in a.operands)
    if isinstance(b, LogicalConstraint):
        return b.operator in ("and", "andSequence") and all(_implies(a, o) for o in b.operands)
    if a.left_operand != b.left_operand or a.right_operand_reference or b.right_operand_reference or a.unit != b.unit:
        return False
    ra, rb = _typed(a), _typed(b)
    if ra is None or rb is None:
        return False
    op_a, op_b = a.operator[len(ODRL) :], b.operator[len(ODRL) :]
    nothing = frozenset[str]
    if op_a in ("eq", "isAnyOf") and op_b in ("isAnyOf", "eq") and (op_b == "isAnyOf" or len(rb) == 1):
        return {key(v) for v in ra} <= {key(v) for v in rb} if op_a == "isAnyOf" or len(ra) == 1 else False
    if op_a == "eq" and len(ra) == 1:
        return holds(op_b, ra, rb, lambda _: nothing(), lambda _: nothing()) is True
    if op_a == op_b == "isNoneOf":
        return {key(v) for v in ra} >= {key(v) for v in rb}
    if op_a == op_b == "isAllOf":
        return {key(v) for v in ra} >= {key(v) for v in rb}
    bounds = {"lt": ("lt", "lteq"), "lteq": ("lteq",), "gt": ("gt", "gteq"), "gteq": ("gteq",)}
    if op_a in bounds and op_b in ("lt", "lteq", "gt", "gteq") and len(ra) == len(rb) == 1:
        upper = op_a in ("lt", "lteq")
        if upper != (op_b in ("lt", "lteq")):
            return False
        # a: x < 2 entails b: x < 3 ⇔ 2 <= 3 (strictness: lteq 3 does not entail lt 3).
        test = {
            "lt": "lteq",
            "lteq": "lt" if op_b == "lt" else "lteq",
            "gt": "gteq",
            "gteq": "gt" if op_b == "gt" else "gteq",
        }[op_a]
        return holds(test, ra, rb, lambda _: nothing(), lambda _: nothing()) is True
    return False


def _rule_narrower(a: Rule, b: Rule) -> bool:
    """``a`` grants no more than ``b``: b's action covers a's, and a's constraints entail each of b's, and a keeps
    every duty of b."""
    if not action_covers(b.action.iri, a.action.iri):
        return False
    a_all = a.constraints + a.action.refinements
    if not all(any(_implies(x, y) for x in a_all) for y in b.constraints + b.action.refinements):
        return False
    return all(any(_rule_canon(d) == _rule_canon(e) for d in a.duties) for e in b.duties)


def narrower(request: Policy, offer: Policy) -> bool:
    """Whether ``request`` is equal to or stricter than ``offer`` (everything it permits the offer permits, and it
    keeps every prohibition and obligation of the offer)."""
    if not all(any(_rule_narrower(p, q) for q in offer.permissions) for p in request.permissions):
        return False
    mine = {_rule_canon(r) for r in request.prohibitions + request.obligations}
    return all(_rule_canon(r) in mine for r in offer.prohibitions + offer.obligations)


def make_agreement(
    offer: Policy,
    *,
    agreement_id: str,
    assignee: str,
    timestamp: dt.datetime,
    target: str | None = None,
    assigner: str | None = None,
) -> Policy:
    """An Agreement from an offer (DSP 2025-1 ContractAgreementMessage: ``target``, ``assigner``, ``assignee``,
    ``timestamp`` required): rules copied, parties and target set on every rule (IM §2.7.1)."""
    if timestamp.tzinfo is None:
        raise PolicyError("the agreement timestamp needs a time zone", where=agreement_id)
    target_asset = Asset(target) if target else offer.target
    assigner_party = Party(assigner) if assigner else offer.assigner
    if target_asset is None:
        raise PolicyError("an agreement needs a target: the offer has none, pass target=", where=agreement_id)
    if assigner_party is None:
        raise PolicyError("an agreement needs an assigner: the offer has none, pass assigner=", where=agreement_id)
    assignee_party = Party(assignee)

    def bind(rule: Rule) -> Rule:
        return dataclasses.replace(
            rule,
            target=target_asset if rule.kind != "duty" else rule.target,
            assigner=assigner_party,
            assignee=assignee_party,
            duties=tuple(bind(d) for d in rule.duties),
            consequences=tuple(bind(d) for d in rule.consequences),
            remedies=tuple(bind(d) for d in rule.remedies),
        )

    stamp = timestamp.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return dataclasses.replace(
        offer,
        uid=agreement_id,
        type=ODRL + "Agreement",
        target=target_asset,
        assigner=assigner_party,
        assignee=assignee_party,
        timestamp=stamp,
        permissions=tuple(bind(r) for r in offer.permissions),
        prohibitions=tuple(bind(r) for r in offer.prohibitions),
        obligations=tuple(bind(r) for r in offer.obligations),
    )
