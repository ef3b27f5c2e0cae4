"""Ready-made policies for providers who are not ODRL experts, composable with :func:`combine`.

Each template returns a :class:`Template`: the policy (an Offer with one ``use`` permission by default) and its
compact JSON-LD. ``combine(a, b, ...)`` puts all their constraints on one permission (a conjunction, IM §2.5).
Example (the demo's dataset A)::

    combine(membership_required("https://w3id.org/gaia-x/demo"), purpose_in(["research"]), at_most_uses(3),
            time_window(start, start + timedelta(days=1)), uid="urn:policy:a", assigner=provider_did)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from policies.model import Action, Asset, Constraint, ConstraintNode, LogicalConstraint, Party, Policy, Rule, Term
from policies.serialize import to_jsonld
from policies.vocabulary import GXC, ODRL, XSD

PolicyType = Literal["Offer", "Set", "Agreement"]


@dataclass(frozen=True, slots=True)
class Template:
    """A ready policy and its compact JSON-LD (ODRL context)."""

    name: str
    policy: Policy
    jsonld: dict[str, Any]

    @property
    def constraints(self) -> tuple[ConstraintNode, ...]:
        return tuple(c for r in self.policy.permissions for c in r.constraints)


def _c(left: str, op: str, right: Iterable[Term]) -> Constraint:
    return Constraint(left_operand=left, operator=ODRL + op, right_operand=tuple(right))


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("template times need a time zone")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _build(
    name: str,
    constraints: tuple[ConstraintNode, ...],
    *,
    uid: str | None,
    target: str | None,
    assigner: str | None,
    policy_type: PolicyType,
    action: str = "use",
) -> Template:
    target_asset = Asset(target) if target else None
    assigner_party = Party(assigner) if assigner else None
    rule = Rule(
        kind="permission",
        uid="_:permission-1",
        action=Action(ODRL + action),
        target=target_asset,
        assigner=assigner_party,
        constraints=constraints,
    )
    draft = Policy(
        uid=uid or "urn:draft",
        type=ODRL + policy_type,
        permissions=(rule,),
        target=target_asset,
        assigner=assigner_party,
    )
    if uid is None:
        digest = hashlib.sha256(json.dumps(to_jsonld(draft), sort_keys=True).encode()).hexdigest()[:24]
        draft = Policy(
            uid=f"urn:gxc:policy:{digest}",
            type=draft.type,
            permissions=(rule,),
            target=target_asset,
            assigner=assigner_party,
        )
    return Template(name, draft, to_jsonld(draft))


def _template(name: str, constraints: tuple[ConstraintNode, ...], kw: dict[str, Any]) -> Template:
    return _build(
        name,
        constraints,
        uid=kw.get("uid"),
        target=kw.get("target"),
        assigner=kw.get("assigner"),
        policy_type=kw.get("policy_type", "Offer"),
    )


def membership_required(dataspace: str, **kw: Any) -> Template:
    """Only verified members of ``dataspace`` (``gxc:membership`` claim)."""
    return _template("membership_required", (_c(GXC + "membership", "isAnyOf", [Term(dataspace)]),), kw)


def purpose_in(purposes: Iterable[str], **kw: Any) -> Template:
    """The declared purpose must be one of ``purposes``."""
    return _template("purpose_in", (_c(ODRL + "purpose", "isAnyOf", [Term(p) for p in purposes]),), kw)


def time_window(start: dt.datetime, end: dt.datetime, **kw: Any) -> Template:
    """Use from ``start`` (inclusive) until ``end`` (exclusive)."""
    if end <= start:
        raise ValueError("time_window: end must be after start")
    window = LogicalConstraint(
        "and",
        (
            _c(ODRL + "dateTime", "gteq", [Term(_iso(start), XSD + "dateTime")]),
            _c(ODRL + "dateTime", "lt", [Term(_iso(end), XSD + "dateTime")]),
        ),
    )
    return _template("time_window", (window,), kw)


def at_most_uses(n: int, **kw: Any) -> Template:
    """At most ``n`` uses: the ledger's count of earlier uses must be below ``n`` (``count lt n``)."""
    if n < 1:
        raise ValueError("at_most_uses: n must be at least 1")
    return _template("at_most_uses", (_c(ODRL + "count", "lt", [Term(str(n), XSD + "integer")]),), kw)


def region(codes: Iterable[str], **kw: Any) -> Template:
    """Use only where the request's ``spatial`` is one of ``codes`` (ISO 3166 codes or IRIs)."""
    return _template("region", (_c(ODRL + "spatial", "isAnyOf", [Term(c) for c in codes]),), kw)


def named_recipients(participants: Iterable[str], **kw: Any) -> Template:
    """Only the named participants (verified DID, ``gxc:participant`` claim)."""
    return _template("named_recipients", (_c(GXC + "participant", "isAnyOf", [Term(p) for p in participants]),), kw)


def gaiax_compliant(**kw: Any) -> Template:
    """Only consumers holding a valid Gaia-X compliance credential."""
    return _template("gaiax_compliant", (_c(GXC + "gaiaxCompliant", "eq", [Term("true", XSD + "boolean")]),), kw)


def credential_required(credential_type: str, **kw: Any) -> Template:
    """Only consumers presenting a verified credential of ``credential_type``."""
    return _template("credential_required", (_c(GXC + "credentialType", "isAllOf", [Term(credential_type)]),), kw)


def combine(
    *parts: Template,
    uid: str | None = None,
    target: str | None = None,
    assigner: str | None = None,
    policy_type: PolicyType = "Offer",
) -> Template:
    """One policy whose single ``use`` permission carries every part's constraints (all must hold)."""
    if not parts:
        raise ValueError("combine needs at least one template")
    constraints = tuple(c for part in parts for c in part.constraints)
    name = "+".join(p.name for p in parts)
    return _build(name, constraints, uid=uid, target=target, assigner=assigner, policy_type=policy_type)


#: Name -> (function, one-line description) for ``gxc policy templates``.
CATALOGUE: dict[str, str] = {
    "membership_required": "verified members of a data space only (gxc:membership isAnyOf [DATASPACE])",
    "purpose_in": "declared purpose in a set (purpose isAnyOf [...])",
    "time_window": "use between two instants (dateTime gteq START and dateTime lt END)",
    "at_most_uses": "at most N uses (count lt N, from the usage ledger)",
    "region": "use only in listed regions (spatial isAnyOf [...])",
    "named_recipients": "named participants only (gxc:participant isAnyOf [DIDs])",
    "gaiax_compliant": "Gaia-X compliant consumers only (gxc:gaiaxCompliant eq true)",
    "credential_required": "consumer must present a credential type (gxc:credentialType isAllOf [TYPE])",
}
