"""``inheritFrom`` (IM §2.9): the child gets the parent's policy-level properties, profiles, conflict values and
all its rules, at any depth; cycles are rejected; constraint ``status`` values are nulled on inheritance."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from policies.errors import InheritanceError
from policies.model import Constraint, ConstraintNode, LogicalConstraint, Policy, Rule

Resolver = Callable[[str], Policy | None] | Mapping[str, Policy]


def _lookup(resolver: Resolver, uid: str) -> Policy | None:
    return resolver.get(uid) if isinstance(resolver, Mapping) else resolver(uid)


def _null_status(node: ConstraintNode) -> ConstraintNode:
    if isinstance(node, LogicalConstraint):
        return dataclasses.replace(node, operands=tuple(_null_status(o) for o in node.operands))
    assert isinstance(node, Constraint)
    return dataclasses.replace(node, status=None) if node.status is not None else node


def _inherited(rule: Rule, parent: Policy, child: Policy) -> Rule:
    uid = rule.uid if not rule.uid.startswith("_:") else f"_:{parent.uid}-{rule.uid[2:]}"
    return dataclasses.replace(
        rule,
        uid=uid,
        target=rule.target or child.target,
        assignee=rule.assignee or child.assignee,
        assigner=rule.assigner or child.assigner,
        constraints=tuple(_null_status(c) for c in rule.constraints),
        duties=tuple(_inherited(d, parent, child) for d in rule.duties),
    )


def resolve_inheritance(policy: Policy, resolver: Resolver, _stack: tuple[str, ...] = ()) -> Policy:
    """``policy`` with every ``inheritFrom`` parent merged in; raises :class:`InheritanceError`."""
    if policy.uid in _stack:
        cycle = " -> ".join((*_stack, policy.uid))
        raise InheritanceError(f"inheritFrom cycle: {cycle} (IM §2.9 forbids cycles)", where=policy.uid)
    if not policy.inherit_from:
        return policy
    merged = dataclasses.replace(policy, inherit_from=())
    for parent_uid in policy.inherit_from:
        parent = _lookup(resolver, parent_uid)
        if parent is None:
            raise InheritanceError(f"parent policy {parent_uid} is not known to the resolver", where=policy.uid)
        parent = resolve_inheritance(parent, resolver, (*_stack, policy.uid))
        child = merged
        merged = dataclasses.replace(
            merged,
            target=child.target or parent.target,
            assigner=child.assigner or parent.assigner,
            assignee=child.assignee or parent.assignee,
            profiles=tuple(dict.fromkeys(child.profiles + parent.profiles)),
            merged_conflicts=child.merged_conflicts
            + parent.merged_conflicts
            + ((parent.conflict,) if parent.conflict else ()),
            permissions=child.permissions + tuple(_inherited(r, parent, child) for r in parent.permissions),
            prohibitions=child.prohibitions + tuple(_inherited(r, parent, child) for r in parent.prohibitions),
            obligations=child.obligations + tuple(_inherited(r, parent, child) for r in parent.obligations),
        )
    # Child rules without a target / parties now get the inherited policy-level values (IM §2.7.1 after §2.9).
    fill = dataclasses.replace
    return fill(
        merged,
        permissions=tuple(
            fill(
                r,
                target=r.target or merged.target,
                assignee=r.assignee or merged.assignee,
                assigner=r.assigner or merged.assigner,
            )
            for r in merged.permissions
        ),
        prohibitions=tuple(
            fill(
                r,
                target=r.target or merged.target,
                assignee=r.assignee or merged.assignee,
                assigner=r.assigner or merged.assigner,
            )
            for r in merged.prohibitions
        ),
    )
