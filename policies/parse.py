"""ODRL JSON-LD (any context, compact or expanded) and Turtle -> :class:`~policies.model.Policy` (IM §2, §2.7).

Pipeline: (1) expand: the fast path of :mod:`policies.compact_form` for the connector's own compact forms, else
pyld with the injected offline loader and ``base=None`` (dsp.md §7.3: no ``http://example.org/base/`` mangling of
relative values); Turtle goes through rdflib into expanded, flattened JSON-LD. (2) index every node by ``@id`` so
flattened input (Turtle, or JSON-LD with references) reads like nested input. (3) build the model: compact
policy-level ``target`` / ``assigner`` / ``assignee`` / ``action`` are copied into the rules (IM §2.7.1) and rules
with several actions, targets or parties are atomized (IM §2.7). (4) refuse unknown profiles (IM §3.2).

Decisions (odrl.md §6.4): logical-constraint operands are accepted as repeated values *and* as RDF lists, in
order; right operands keep their lexical form and datatype and are typed later, by the left operand
(:mod:`policies.values`); bare vocabulary terms (``"leftOperand": "purpose"`` under the DSP context, which defines
no left operands) are read as ODRL terms. Blank-node rules get positional labels (``_:permission-1``,
``_:permission-1-duty-1``) because blank-node labels are not stable across serialisations.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from policies.compact_form import Loader, TermTable, expand_compact
from policies.errors import PolicyParseError, UnknownProfile
from policies.model import (
    Action,
    Asset,
    Constraint,
    ConstraintNode,
    LogicalConstraint,
    Party,
    Policy,
    Rule,
    RuleKind,
    Term,
)
from policies.vocabulary import (
    CONFLICT_TERMS,
    DCT,
    DSPACE,
    GXC,
    LOGICAL_OPERATORS,
    ODRL,
    OPERATORS,
    POLICY_TYPES,
    RDF,
    XSD,
    expand_term,
)

#: Profiles this processor understands (IM §3.2); callers add theirs with ``profiles=``.
KNOWN_PROFILES: frozenset[str] = frozenset({GXC, GXC.rstrip("/")})

_O = ODRL
_CONTEXT_TYPOS = {ODRL + "neg": ODRL + "neq", ODRL + "industry:": ODRL + "industry"}
_TERM_CACHE: dict[tuple[str, ...], TermTable] = {}
Format = Literal["auto", "json-ld", "turtle"]


def parse_policy(
    data: str | bytes | Mapping[str, Any] | list[Any],
    *,
    loader: Loader,
    format: Format = "auto",
    profiles: Iterable[str] = (),
    fast: bool = True,
) -> Policy:
    """Parse one ODRL policy (or the policy inside a DSP Contract*Message) into the atomic model.

    ``loader`` is a pyld document loader (``loader(url, options) -> {"document": ...}``); contexts are never
    fetched. Raises :class:`PolicyParseError` (where + why) or :class:`UnknownProfile`.
    """
    is_turtle = format == "turtle" or (
        format == "auto" and isinstance(data, (str, bytes)) and data.lstrip()[:1] not in ("{", "[", b"{", b"[")
    )
    expanded = expand(data, loader=loader, format=format, fast=fast)
    return policy_from_expanded(expanded, profiles=profiles, unordered=is_turtle)


def expand(
    data: str | bytes | Mapping[str, Any] | list[Any], *, loader: Loader, format: Format = "auto", fast: bool = True
) -> list[Any]:
    """Expanded JSON-LD (a list of node objects) for JSON-LD or Turtle input."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyParseError(f"input is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if isinstance(data, str):
        stripped = data.lstrip()
        if format == "turtle" or (format == "auto" and not stripped.startswith(("{", "["))):
            return _turtle_to_expanded(data)
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise PolicyParseError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if fast and isinstance(data, Mapping):
        quick = expand_compact(data, loader, _TERM_CACHE)
        if quick is not None:
            return quick
    return _pyld_expand(data, loader)


def _pyld_expand(data: Any, loader: Loader) -> list[Any]:
    from pyld import jsonld  # imported lazily: the fast path and Turtle do not need it
    from pyld.context_resolver import ContextResolver

    try:
        copying = _copying(loader)
        # A fresh resolver per call: pyld's process-wide resolved-context cache is shared between operations and,
        # with the DSP context's type-scoped @import, goes stale (KeyError 'mappings', dropped terms; dsp.md
        # addendum). ``base: None`` keeps relative values relative (dsp.md §7.3).
        options = {"documentLoader": copying, "base": None, "contextResolver": ContextResolver({}, copying)}
        result = jsonld.expand(data, options)
    except Exception as exc:  # pyld wraps the loader's own error (e.g. a context that is not pinned)
        raise PolicyParseError(f"JSON-LD expansion failed: {_root_cause(exc)}") from None
    return list(result)


def _copying(loader: Loader) -> Loader:
    """pyld mutates the context documents it processes (``@import`` is merged into the imported document, dsp.md
    addendum); loaders that cache documents would hand out corrupted contexts later, so give pyld copies."""

    def load(url: str, options: Mapping[str, Any]) -> Mapping[str, Any]:
        return copy.deepcopy(loader(url, options))

    return load


def _root_cause(exc: BaseException) -> str:
    seen: set[int] = set()
    current: BaseException | None = exc
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ != "JsonLdError" and str(current):
            message = str(current).splitlines()[0]
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__ or current.__context__
    return message


def _turtle_to_expanded(text: str) -> list[Any]:
    import rdflib

    graph = rdflib.Graph()
    try:
        graph.parse(data=text, format="turtle")
    except Exception as exc:
        raise PolicyParseError(
            f"invalid Turtle: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    nodes: list[Any] = json.loads(graph.serialize(format="json-ld"))
    return nodes


# --------------------------------------------------------------------------------------------- node access


class _Doc:
    """Expanded JSON-LD with every identified node indexed, so references resolve (flattened input)."""

    def __init__(self, expanded: list[Any], *, unordered: bool = False) -> None:
        self.unordered = unordered
        self.top = [n for n in expanded if isinstance(n, dict)]
        self.index: dict[str, dict[str, Any]] = {}
        self.referenced: set[str] = set()
        for node in self.top:
            self._collect(node, top=True)

    def _collect(self, node: Any, top: bool = False) -> None:
        if isinstance(node, list):
            for item in node:
                self._collect(item)
        elif isinstance(node, dict):
            node_id = node.get("@id")
            if isinstance(node_id, str):
                if len(node) > 1:
                    existing = self.index.get(node_id)
                    self.index[node_id] = {**existing, **node} if existing else node
                if not top:
                    self.referenced.add(node_id)
            for key, value in node.items():
                if key not in ("@id", "@type", "@value"):
                    self._collect(value)

    def node(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and set(value) == {"@id"}:
            return self.index.get(value["@id"], value)
        return value if isinstance(value, dict) else {}

    def values(self, node: Mapping[str, Any], prop: str) -> list[Any]:
        raw = node.get(prop, [])
        items = raw if isinstance(raw, list) else [raw]
        result: list[Any] = []
        ordered = False
        for item in items:
            if isinstance(item, dict) and "@list" in item:
                result.extend(item["@list"])
                ordered = True
            else:
                result.append(item)
        if self.unordered and not ordered and len(result) > 1:
            # RDF has no order for repeated values: sort by content so labels and reports are deterministic.
            result.sort(key=self.canonical_key)
        return result

    def canonical_key(self, value: Any, depth: int = 0) -> str:
        node = self.node(value) if depth < 16 else value
        if isinstance(node, dict):
            parts = {
                k: [self.canonical_key(v, depth + 1) for v in (node[k] if isinstance(node[k], list) else [node[k]])]
                for k in sorted(node)
                if k != "@id" or not str(node[k]).startswith("_:")
            }
            return json.dumps(parts, sort_keys=True, default=str)
        return json.dumps(node, sort_keys=True, default=str)

    def rdf_list(self, value: Any) -> list[Any] | None:
        """Items of an RDF list written as ``rdf:first``/``rdf:rest`` nodes (rdflib keeps some lists this way)."""
        node = self.node(value)
        if RDF + "first" not in node:
            return None
        items: list[Any] = []
        seen: set[int] = set()
        while node and RDF + "first" in node and id(node) not in seen:
            seen.add(id(node))
            items.extend(self.values(node, RDF + "first"))
            rest = self.values(node, RDF + "rest")
            if not rest or (isinstance(rest[0], dict) and rest[0].get("@id") == RDF + "nil"):
                break
            node = self.node(rest[0])
        return items

    def members(self, node: Mapping[str, Any], prop: str) -> list[Any]:
        result: list[Any] = []
        for item in self.values(node, prop):
            listed = self.rdf_list(item)
            result.extend(listed if listed is not None else [item])
        return result


def _iri(value: Any, where: str) -> str:
    if isinstance(value, dict):
        if "@id" in value:
            return expand_term(str(value["@id"]))
        if "@value" in value and isinstance(value["@value"], str):
            return expand_term(value["@value"])
    raise PolicyParseError(f"expected an IRI, got {json.dumps(value)[:80]}", where=where)


def _one_iri(doc: _Doc, node: Mapping[str, Any], prop: str, where: str, *, required: bool = False) -> str | None:
    values = doc.values(node, prop)
    if not values:
        if required:
            raise PolicyParseError(f"missing {_name(prop)}", where=where)
        return None
    if len(values) > 1:
        raise PolicyParseError(f"{_name(prop)} must have one value, found {len(values)}", where=where)
    return _iri(values[0], f"{where}/{_name(prop)}")


def _name(prop: str) -> str:
    return prop[len(ODRL) :] if prop.startswith(ODRL) else prop


def _term(value: Any, where: str) -> Term:
    if isinstance(value, dict):
        if "@id" in value:
            return Term(expand_term(str(value["@id"])), is_iri=True)
        if "@value" in value:
            raw = value["@value"]
            datatype = value.get("@type")
            if isinstance(raw, bool):
                return Term("true" if raw else "false", XSD + "boolean")
            if isinstance(raw, int):
                return Term(str(raw), datatype or XSD + "integer")
            if isinstance(raw, float):
                return Term(repr(raw), datatype or XSD + "double")
            return Term(str(raw), expand_term(datatype) if datatype else None, language=value.get("@language"))
    raise PolicyParseError(f"unsupported value {json.dumps(value)[:80]}", where=where)


# --------------------------------------------------------------------------------------------- model


def policy_from_expanded(expanded: list[Any], *, profiles: Iterable[str] = (), unordered: bool = False) -> Policy:
    """Build the atomic model from expanded JSON-LD holding one policy (or one DSP message carrying it).

    ``unordered`` (RDF input): repeated values carry no order, so rules and constraints are sorted by content.
    """
    doc = _Doc(expanded, unordered=unordered)
    node = _find_policy(doc)
    uid = node.get("@id")
    if not isinstance(uid, str):
        raise PolicyParseError("the policy has no uid (@id); IM §2.1 requires one")
    types = [expand_term(t) for t in node.get("@type", [])]
    policy_types = [t for t in types if t in POLICY_TYPES]
    ptype = policy_types[0] if policy_types else ODRL + "Set"
    if len(set(policy_types) - {ODRL + "Set", ODRL + "Policy"}) > 1:
        raise PolicyParseError(f"policy types {sorted(policy_types)} are disjoint (IM §2.1)", where=uid)

    declared = [_iri(v, f"{uid}/profile") for v in doc.values(node, _O + "profile")]
    known = KNOWN_PROFILES | frozenset(profiles)
    unknown = [p for p in declared if p not in known]
    if unknown:
        raise UnknownProfile(
            f"unknown profile {unknown[0]}; ODRL 2.2 IM §3.2 requires processing to stop (add it to profiles=)",
            where=uid,
        )

    conflict_iri = _one_iri(doc, node, _O + "conflict", uid)
    conflict = None
    if conflict_iri is not None:
        if conflict_iri not in CONFLICT_TERMS:
            raise PolicyParseError(f"conflict must be perm, prohibit or invalid, got {conflict_iri}", where=uid)
        conflict = CONFLICT_TERMS[conflict_iri]

    builder = _Builder(doc)
    target = builder.asset_list(node, f"{uid}/target")
    assigner = builder.party_list(node, _O + "assigner", f"{uid}/assigner")
    assignee = builder.party_list(node, _O + "assignee", f"{uid}/assignee")
    actions = [builder.action(v, f"{uid}/action") for v in doc.values(node, _O + "action")]
    defaults = _Defaults(actions=actions, targets=target, assigners=assigner, assignees=assignee)
    rules: dict[str, list[Rule]] = {}
    kinds: tuple[RuleKind, ...] = ("permission", "prohibition", "obligation")
    for kind in kinds:
        rules[kind] = []
        for i, value in enumerate(doc.values(node, _O + kind), start=1):
            rules[kind].extend(builder.rule(doc.node(value), kind, f"_:{kind}-{i}", defaults))
    inherit = tuple(_iri(v, f"{uid}/inheritFrom") for v in doc.values(node, _O + "inheritFrom"))
    if not any(rules.values()) and not inherit:
        raise PolicyParseError("a policy needs at least one permission, prohibition or obligation (IM §2.1)", where=uid)
    timestamps = doc.values(node, DSPACE + "timestamp") or doc.values(node, DCT + "issued")
    replaced = doc.values(node, DCT + "isReplacedBy")
    return Policy(
        uid=uid,
        type=ptype,
        permissions=tuple(rules["permission"]),
        prohibitions=tuple(rules["prohibition"]),
        obligations=tuple(rules["obligation"]),
        profiles=tuple(declared),
        inherit_from=inherit,
        conflict=conflict,  # type: ignore[arg-type]
        target=target[0] if len(target) == 1 else None,
        assigner=assigner[0] if len(assigner) == 1 else None,
        assignee=assignee[0] if len(assignee) == 1 else None,
        timestamp=_term(timestamps[0], f"{uid}/timestamp").value if timestamps else None,
        replaced_by=_iri(replaced[0], f"{uid}/isReplacedBy") if replaced else None,
    )


def _find_policy(doc: _Doc) -> dict[str, Any]:
    def is_policy(n: Mapping[str, Any]) -> bool:
        return any(expand_term(t) in POLICY_TYPES for t in n.get("@type", [])) or any(
            _O + k in n for k in ("permission", "prohibition", "obligation")
        )

    candidates = [n for n in doc.top if is_policy(n) and n.get("@id") not in doc.referenced]
    if not candidates:
        for message in doc.top:  # a DSP message or a dcat:Dataset carrying the policy
            for prop in (DSPACE + "agreement", DSPACE + "offer", _O + "hasPolicy"):
                inner = [doc.node(v) for v in doc.values(message, prop)]
                candidates.extend(n for n in inner if is_policy(n))
    if not candidates:
        candidates = [n for n in doc.index.values() if is_policy(n)]
    if not candidates:
        raise PolicyParseError("no ODRL policy found (expected @type Set, Offer, Agreement or Policy with rules)")
    if len(candidates) > 1:
        ids = ", ".join(str(c.get("@id")) for c in candidates[:3])
        raise PolicyParseError(f"expected one policy, found {len(candidates)} ({ids})")
    return candidates[0]


class _Defaults:
    """Policy-level (compact) properties copied into every rule that lacks them (IM §2.7.1)."""

    def __init__(self, *, actions: list[Action], targets: list[Asset], assigners: list[Party], assignees: list[Party]):
        self.actions = actions
        self.targets = targets
        self.assigners = assigners
        self.assignees = assignees


class _Builder:
    def __init__(self, doc: _Doc) -> None:
        self.doc = doc

    def rule(
        self, node: Mapping[str, Any], kind: RuleKind, label: str, defaults: _Defaults, *, parent: Rule | None = None
    ) -> list[Rule]:
        uid = (
            node.get("@id") if isinstance(node.get("@id"), str) and not str(node.get("@id")).startswith("_:") else None
        )
        where = uid or label
        actions = [self.action(v, f"{where}/action") for v in self.doc.values(node, _O + "action")] or (
            defaults.actions if kind != "duty" else []
        )
        if not actions:
            raise PolicyParseError(f"a {kind} must have an action (IM §2.6)", where=where)
        top_level = kind in ("permission", "prohibition", "obligation")
        targets: list[Asset | None] = (
            list(self.asset_list(node, f"{where}/target")) or (list(defaults.targets) if top_level else []) or [None]
        )
        inherited_assigner: list[Party | None] = (
            [parent.assigner] if parent and parent.assigner else list(defaults.assigners if top_level else [])
        )
        inherited_assignee: list[Party | None] = (
            [parent.assignee] if parent and parent.assignee else list(defaults.assignees if top_level else [])
        )
        assigners: list[Party | None] = (
            list(self.party_list(node, _O + "assigner", f"{where}/assigner")) or inherited_assigner or [None]
        )
        assignees: list[Party | None] = (
            list(self.party_list(node, _O + "assignee", f"{where}/assignee")) or inherited_assignee or [None]
        )
        constraints = tuple(
            self.constraint(v, f"{where}/constraint/{i}")
            for i, v in enumerate(self.doc.members(node, _O + "constraint"))
        )
        atoms = [(a, t, r, e) for a in actions for t in targets for r in assigners for e in assignees]
        result: list[Rule] = []
        for n, (action, target, assigner, assignee) in enumerate(atoms, start=1):
            rule_id = (uid or label) if len(atoms) == 1 else f"{uid or label}{'-' if '#' in (uid or label) else '#'}{n}"
            shell = Rule(kind=kind, uid=rule_id, action=action, target=target, assigner=assigner, assignee=assignee)
            sub_defaults = _Defaults(actions=[], targets=[], assigners=[], assignees=[])
            duties = (
                self._children(node, _O + "duty", "duty", f"{label}-duty", sub_defaults, shell)
                if kind == "permission"
                else ()
            )
            consequences = (
                self._children(node, _O + "consequence", "duty", f"{label}-consequence", sub_defaults, shell)
                if kind in ("duty", "obligation")
                else ()
            )
            remedies = (
                self._children(node, _O + "remedy", "duty", f"{label}-remedy", sub_defaults, shell)
                if kind == "prohibition"
                else ()
            )
            if parent is not None and parent.kind == "duty" and self.doc.values(node, _O + "consequence"):
                raise PolicyParseError("consequences must not be nested (IM §2.6.6)", where=where)
            result.append(
                Rule(
                    kind=kind,
                    uid=rule_id,
                    action=action,
                    target=target,
                    assigner=assigner,
                    assignee=assignee,
                    constraints=constraints,
                    duties=duties,
                    consequences=consequences,
                    remedies=remedies,
                )
            )
        return result

    def _children(
        self, node: Mapping[str, Any], prop: str, kind: RuleKind, label: str, defaults: _Defaults, parent: Rule
    ) -> tuple[Rule, ...]:
        children: list[Rule] = []
        for i, value in enumerate(self.doc.values(node, prop), start=1):
            children.extend(self.rule(self.doc.node(value), kind, f"{label}-{i}", defaults, parent=parent))
        return tuple(children)

    def action(self, value: Any, where: str) -> Action:
        node = self.doc.node(value)
        if RDF + "value" in node:
            iri = _iri(self.doc.values(node, RDF + "value")[0], where)
            refinements = tuple(
                self.constraint(v, f"{where}/refinement/{i}")
                for i, v in enumerate(self.doc.members(node, _O + "refinement"))
            )
            return Action(iri, refinements)
        return Action(_iri(value, where))

    def asset_list(self, node: Mapping[str, Any], where: str) -> list[Asset]:
        return [self._asset(v, f"{where}/{i}") for i, v in enumerate(self.doc.values(node, _O + "target"))]

    def party_list(self, node: Mapping[str, Any], prop: str, where: str) -> list[Party]:
        return [self._party(v, f"{where}/{i}") for i, v in enumerate(self.doc.values(node, prop))]

    def _collection_parts(
        self, value: Any, where: str, cls_name: str
    ) -> tuple[str | None, bool, str | None, tuple[ConstraintNode, ...], tuple[str, ...]]:
        node = self.doc.node(value)
        if not node or ("@id" in node and len(node) == 1 and node["@id"] not in self.doc.index):
            return _iri(value, where), False, None, (), ()
        uid = node.get("@id") if isinstance(node.get("@id"), str) else None
        types = [expand_term(t) for t in node.get("@type", [])]
        source = _one_iri(self.doc, node, _O + "source", where)
        refinements = tuple(
            self.constraint(v, f"{where}/refinement/{i}")
            for i, v in enumerate(self.doc.members(node, _O + "refinement"))
        )
        if refinements and source is None:
            raise PolicyParseError(
                f"a {cls_name} with refinements must be identified by odrl:source (IM §2.5.5)", where=where
            )
        part_of = tuple(_iri(v, f"{where}/partOf") for v in self.doc.values(node, _O + "partOf"))
        collection = _O + cls_name in types or source is not None or bool(refinements)
        if uid is None and source is None:
            raise PolicyParseError(f"a {cls_name.replace('Collection', '')} needs an IRI (uid or source)", where=where)
        return uid, collection, source, refinements, part_of

    def _asset(self, value: Any, where: str) -> Asset:
        uid, collection, source, refinements, part_of = self._collection_parts(value, where, "AssetCollection")
        return Asset(uid, collection, source, refinements, part_of)

    def _party(self, value: Any, where: str) -> Party:
        uid, collection, source, refinements, part_of = self._collection_parts(value, where, "PartyCollection")
        return Party(uid, collection, source, refinements, part_of)

    def constraint(self, value: Any, where: str, depth: int = 0) -> ConstraintNode:
        if depth > 32:
            raise PolicyParseError("logical constraints nested deeper than 32 levels", where=where)
        node = self.doc.node(value)
        uid = (
            node.get("@id") if isinstance(node.get("@id"), str) and not str(node.get("@id")).startswith("_:") else None
        )
        logical = [(iri, name) for iri, name in LOGICAL_OPERATORS.items() if iri in node]
        if logical:
            if len(logical) > 1 or _O + "leftOperand" in node:
                raise PolicyParseError("a LogicalConstraint has exactly one operand property (IM §2.5.2)", where=where)
            iri, name = logical[0]
            items = self.doc.members(node, iri)
            if not items:
                raise PolicyParseError(f"{name} has no operands", where=where)
            operands = tuple(self.constraint(v, f"{where}/{name}/{i}", depth + 1) for i, v in enumerate(items))
            return LogicalConstraint(name, operands, uid)  # type: ignore[arg-type]
        left = _one_iri(self.doc, node, _O + "leftOperand", where, required=True)
        operator = _one_iri(self.doc, node, _O + "operator", where, required=True)
        assert left is not None
        assert operator is not None
        # The official ODRL context (odrl.jsonld) has two typos: "neq" -> odrl:neg and "industry" ->
        # odrl:industry: (trailing colon). Read them as the vocabulary terms they were meant to be.
        operator = _CONTEXT_TYPOS.get(operator, operator)
        left = _CONTEXT_TYPOS.get(left, left)
        if operator not in OPERATORS:
            raise PolicyParseError(f"unknown operator {operator} (ODRL 2.2 Vocab §3.2)", where=where)
        right = tuple(_term(v, f"{where}/rightOperand") for v in self.doc.members(node, _O + "rightOperand"))
        reference = _one_iri(self.doc, node, _O + "rightOperandReference", where)
        if bool(right) == bool(reference):
            raise PolicyParseError(
                "a constraint needs exactly one of rightOperand or rightOperandReference (IM §2.5.1)", where=where
            )
        data_type = _one_iri(self.doc, node, _O + "datatype", where) or _one_iri(self.doc, node, _O + "dataType", where)
        unit_values = self.doc.values(node, _O + "unit")
        status_values = self.doc.values(node, _O + "status")
        return Constraint(
            left_operand=left,
            operator=operator,
            right_operand=right,
            right_operand_reference=reference,
            unit=_iri(unit_values[0], f"{where}/unit") if unit_values else None,
            data_type=data_type,
            status=_term(status_values[0], f"{where}/status") if status_values else None,
            uid=uid,
        )


def load_policies(items: Iterable[Any], *, loader: Loader, profiles: Iterable[str] = ()) -> dict[str, Policy]:
    """Parse several documents into a ``uid -> Policy`` map (the resolver input for ``inheritFrom``)."""
    result: dict[str, Policy] = {}
    for item in items:
        policy = parse_policy(item, loader=loader, profiles=profiles)
        result[policy.uid] = policy
    return result


PolicyResolver = Callable[[str], Policy | None]
