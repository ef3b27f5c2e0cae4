"""ODRL policies in plain words for people who do not read ODRL: one sentence per rule, one clause per constraint.

Known left operands get a phrase (``purpose`` → "for the purpose …", ``count`` → "at most N uses"); anything
else falls back to ``operand operator value`` so nothing in the policy is ever hidden from the reader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies import Constraint, LogicalConstraint, Policy, PolicyError, Rule
from policies.vocabulary import GXC, ODRL, short

_OPERATORS = {
    "eq": "is",
    "neq": "is not",
    "lt": "is less than",
    "lteq": "is at most",
    "gt": "is more than",
    "gteq": "is at least",
    "isAnyOf": "is one of",
    "isAllOf": "includes all of",
    "isNoneOf": "is none of",
    "isA": "is a",
    "hasPart": "contains",
    "isPartOf": "is part of",
}
_JOINS = {"and": " and ", "or": " or ", "xone": " or else (exactly one) ", "andSequence": " and then "}


def _values(c: Constraint) -> str:
    if c.right_operand_reference:
        return c.right_operand_reference
    return ", ".join(short(t.value) for t in c.right_operand)


def constraint_words(node: Constraint | LogicalConstraint) -> str:
    """One constraint as a clause ("the purpose is one of research")."""
    if isinstance(node, LogicalConstraint):
        inner = _JOINS.get(node.operator, f" {node.operator} ").join(constraint_words(o) for o in node.operands)
        return f"({inner})" if len(node.operands) > 1 else inner
    left = node.left_operand
    op = node.operator.removeprefix(ODRL)
    values = _values(node)
    if left == ODRL + "count" and op in ("lt", "lteq") and values.isdigit():
        # The ledger counts earlier uses: "count lt 3" lets the 1st, 2nd and 3rd use through.
        limit = int(values) if op == "lt" else int(values) + 1
        return f"at most {limit} use{'s' if limit != 1 else ''} in total"
    if left == ODRL + "dateTime":
        phrase = {"gteq": "from", "gt": "after", "lt": "until (not including)", "lteq": "until"}.get(op)
        if phrase:
            return f"{phrase} {values}"
    if left == ODRL + "purpose":
        if op in ("eq", "isAnyOf"):
            return f"only for the purpose {values}" if "," not in values else f"only for one of the purposes {values}"
        return f"the purpose {_OPERATORS.get(op, op)} {values}"
    if left == ODRL + "spatial":
        return f"only in {values}" if op in ("eq", "isAnyOf") else f"the place {_OPERATORS.get(op, op)} {values}"
    if left == GXC + "membership":
        return f"only for verified members of {values}"
    if left == GXC + "participant":
        return f"only for the participant{'s' if ',' in values else ''} {values}"
    if left == GXC + "gaiaxCompliant":
        return "only for consumers with a valid Gaia-X compliance credential"
    if left == GXC + "credentialType":
        return f"only for consumers presenting a verified {values} credential"
    if left == ODRL + "elapsedTime":
        return f"for at most {values} after the agreement" if op in ("lt", "lteq") else f"elapsed time {op} {values}"
    return f"{short(left)} {_OPERATORS.get(op, op)} {values}"


def _rule_words(rule: Rule, lead: str) -> str:
    action = short(rule.action.iri)
    clauses = [constraint_words(c) for c in rule.constraints]
    text = f"{lead} {action} the data"
    if clauses:
        text += ": " + "; ".join(clauses)
    duties = [_rule_words(d, "must").removesuffix(".") for d in rule.duties]
    if duties:
        text += "; on condition that the user " + " and ".join(duties)
    return text + "."


def policy_words(policy: Policy) -> list[str]:
    """One sentence per rule; a policy without rules says so (nothing is permitted)."""
    lines = [_rule_words(r, "May") for r in policy.permissions]
    lines += [_rule_words(r, "May not") for r in policy.prohibitions]
    lines += [_rule_words(r, "Must") for r in policy.obligations]
    return lines or ["Permits nothing (the policy has no rules)."]


def describe(document: Mapping[str, Any], parse: Any) -> list[str]:
    """Plain words for a policy document parsed with ``parse`` (the connector's policy engine); a policy that
    cannot be read says why instead of failing the page."""
    try:
        return policy_words(parse(document))
    except PolicyError as exc:
        return [f"This policy cannot be read: {exc}"]


_COUNT_DENIAL = re.compile(r"requires count lt (\d+) but the request's count is (\d+)")


def gloss(reason: str) -> str:
    """A policy engine reason with a plain-words note for the common cases (the original text stays: it is what
    the provider signed into its ledger)."""
    match = _COUNT_DENIAL.search(reason)
    if match:
        allowed, used = int(match[1]), int(match[2])
        uses = f"{allowed} use{'s' if allowed != 1 else ''}"
        made = f"{used} {'was' if used == 1 else 'were'} already made"
        return f"{reason} — the agreement allows {uses}, and {made}."
    return reason
