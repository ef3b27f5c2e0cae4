"""Model -> compact JSON-LD in the ODRL context or the DSP 2025-1 context (IM §2.7.1 compact form).

Written directly (no pyld compaction), so the pyld one-element-``@context`` quirk and the ``@import`` caching trap
of the DSP context (dsp.md §7.3 and its addendum) cannot bite. Targets, assigners and assignees shared by every
rule go back to the policy level, as DSP requires (rules MUST NOT carry ``target``, odrl.md §3.3).
Right operands with a datatype are written as value objects, so nothing is lost on a round trip through pyld.

In the DSP form the ``@context`` is ``[DSP context, DSP ODRL profile]`` for a standalone document; embedded in a
Contract*Message the message's own (type-scoped) context applies and ``@context`` is dropped by the caller.
"""

from __future__ import annotations

from typing import Any, Literal

from policies.model import Asset, Constraint, ConstraintNode, LogicalConstraint, Party, Policy, Rule, Term
from policies.vocabulary import DSP_CONTEXT, DSP_ODRL_PROFILE, ODRL, ODRL_CONTEXT, RDF, XSD

ContextName = Literal["odrl", "dsp"]

# Terms the DSP 2025-1 ODRL profile defines; anything else from the ODRL namespace is written ``odrl:term``.
_DSP_TERMS = frozenset(
    [
        "Policy",
        "Rule",
        "profile",
        "prohibit",
        "Agreement",
        "Assertion",
        "Offer",
        "Set",
        "Asset",
        "hasPolicy",
        "target",
        "assignee",
        "assigner",
        "Action",
        "action",
        "Permission",
        "permission",
        "Prohibition",
        "prohibition",
        "obligation",
        "use",
        "Duty",
        "duty",
        "Constraint",
        "constraint",
        "Operator",
        "operator",
        "RightOperand",
        "rightOperand",
        "LeftOperand",
        "leftOperand",
        "eq",
        "gt",
        "gteq",
        "lt",
        "lteq",
        "neq",
        "isA",
        "hasPart",
        "isPartOf",
        "isAllOf",
        "isAnyOf",
        "isNoneOf",
        "or",
        "xone",
        "and",
        "andSequence",
    ]
)


class _Writer:
    def __init__(self, context: ContextName) -> None:
        self.dsp = context == "dsp"
        self.id_key = "@id" if self.dsp else "uid"
        self.type_key = "@type"

    def key(self, name: str) -> str:
        return name if not self.dsp or name in _DSP_TERMS else f"odrl:{name}"

    def vocab(self, iri: str) -> str:
        if iri.startswith(ODRL):
            name = iri[len(ODRL) :]
            if not self.dsp and name in ("neq", "industry"):
                return f"odrl:{name}"  # the ODRL context maps these terms to typos (odrl:neg, odrl:industry:)
            return name if not self.dsp or name in _DSP_TERMS else f"odrl:{name}"
        return iri

    def term(self, term: Term) -> Any:
        if term.is_iri:
            return {"@id": term.value}
        if term.datatype is None and term.language is None:
            return term.value
        value: dict[str, Any] = {"@value": term.value}
        if term.datatype:
            value["@type"] = "xsd:" + term.datatype[len(XSD) :] if term.datatype.startswith(XSD) else term.datatype
        if term.language:
            value["@language"] = term.language
        return value

    def constraint(self, node: ConstraintNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node.uid:
            out[self.id_key] = node.uid
        if isinstance(node, LogicalConstraint):
            operands = [self.constraint(o) for o in node.operands]
            if self.dsp and node.operator != "andSequence":
                # The DSP 2025-1 schema (contract-schema.json, LogicalConstraint) requires a plain JSON array;
                # and/or/xone are unordered, so nothing is lost.
                out[self.key(node.operator)] = operands
            else:
                # IM §2.5.2: andSequence order must survive, so it is written as an RDF list.
                out[self.key(node.operator)] = {"@list": operands}
            return out
        assert isinstance(node, Constraint)
        out[self.key("leftOperand")] = self.vocab(node.left_operand)
        out[self.key("operator")] = self.vocab(node.operator)
        if node.right_operand_reference:
            out[self.key("rightOperandReference")] = node.right_operand_reference
        else:
            values = [self.term(t) for t in node.right_operand]
            out[self.key("rightOperand")] = values[0] if len(values) == 1 else values
        if node.data_type:
            dt = node.data_type
            out[self.key("dataType")] = ("xsd:" + dt[len(XSD) :]) if dt.startswith(XSD) else dt
        if node.unit:
            out[self.key("unit")] = node.unit
        if node.status is not None:
            out[self.key("status")] = self.term(node.status)
        return out

    def thing(self, thing: Asset | Party, collection_type: str) -> Any:
        if not thing.collection and not thing.refinements and not thing.part_of:
            return thing.uid
        out: dict[str, Any] = {}
        if thing.uid:
            out[self.id_key] = thing.uid
        out[self.type_key] = self.vocab(ODRL + collection_type) if thing.collection else None
        if out[self.type_key] is None:
            del out[self.type_key]
        if thing.source:
            out[self.key("source")] = {"@id": thing.source} if self.dsp else thing.source
        if thing.refinements:
            out[self.key("refinement")] = [self.constraint(c) for c in thing.refinements]
        if thing.part_of:
            out[self.key("partOf")] = list(thing.part_of)
        return out

    def rule(self, rule: Rule, hoisted: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not rule.uid.startswith("_:"):
            out[self.id_key] = rule.uid
        if rule.action.refinements:
            out[self.key("action")] = [
                {
                    RDF + "value": {"@id": rule.action.iri},
                    self.key("refinement"): [self.constraint(c) for c in rule.action.refinements],
                }
            ]
        else:
            out[self.key("action")] = self.vocab(rule.action.iri)
        if rule.target is not None and "target" not in hoisted:
            out[self.key("target")] = self.thing(rule.target, "AssetCollection")
        for name, party in (("assigner", rule.assigner), ("assignee", rule.assignee)):
            if party is not None and name not in hoisted:
                out[self.key(name)] = self.thing(party, "PartyCollection")
        if rule.constraints:
            out[self.key("constraint")] = [self.constraint(c) for c in rule.constraints]
        for name, children in (("duty", rule.duties), ("consequence", rule.consequences), ("remedy", rule.remedies)):
            if children:
                out[self.key(name)] = [
                    self.rule(c, hoisted | {"assigner", "assignee"} if self._same_parties(rule, c) else hoisted)
                    for c in children
                ]
        return out

    @staticmethod
    def _same_parties(parent: Rule, child: Rule) -> bool:
        return parent.assigner == child.assigner and parent.assignee == child.assignee


def to_jsonld(policy: Policy, context: ContextName = "odrl") -> dict[str, Any]:
    """The policy as compact JSON-LD in the ODRL (``"odrl"``) or DSP 2025-1 (``"dsp"``) context."""
    writer = _Writer(context)
    out: dict[str, Any] = {
        "@context": [DSP_CONTEXT, DSP_ODRL_PROFILE] if context == "dsp" else ODRL_CONTEXT,
        writer.type_key: writer.vocab(policy.type),
        writer.id_key: policy.uid,
    }
    if policy.profiles:
        out[writer.key("profile")] = list(policy.profiles)
    if policy.inherit_from:
        out[writer.key("inheritFrom")] = list(policy.inherit_from)
    if policy.conflict:
        out[writer.key("conflict")] = writer.vocab(ODRL + policy.conflict)
    top_rules = policy.rules
    hoisted: set[str] = set()
    for name, value in (("target", policy.target), ("assigner", policy.assigner), ("assignee", policy.assignee)):
        if value is not None and top_rules and all(getattr(r, name) == value for r in top_rules):
            out[writer.key(name)] = writer.thing(value, "AssetCollection" if name == "target" else "PartyCollection")
            hoisted.add(name)
    if policy.timestamp:
        out["dspace:timestamp" if context == "odrl" else "odrl:timestamp"] = policy.timestamp
        if context == "odrl":
            out["@context"] = [out["@context"]] if isinstance(out["@context"], str) else out["@context"]
            out["@context"] = [*out["@context"], {"dspace": "https://w3id.org/dspace/2025/1/"}]
        else:
            del out["odrl:timestamp"]
            out["dspace:timestamp"] = policy.timestamp
    for kind, rules in (
        ("permission", policy.permissions),
        ("prohibition", policy.prohibitions),
        ("obligation", policy.obligations),
    ):
        if rules:
            out[writer.key(kind)] = [writer.rule(r, hoisted) for r in rules]
    return out
