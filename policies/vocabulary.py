"""ODRL 2.2 vocabulary: namespaces, policy and rule classes, the action hierarchy, left operands and operators.

Source: ODRL 2.2 Vocabulary & Expression (W3C REC 2018-02-15) and its ontology ``ODRL22.ttl``. Only the
``includedIn`` edges asserted by the ontology are used (Vocab §2.4); ``implies`` has no triples in ODRL22.ttl, so
:data:`IMPLIES` starts empty and exists for profiles. Deprecated 2.1 actions are mapped as SolidLab does
(``skos:exactMatch``), so a permission on ``use`` still covers ``write``.
"""

from __future__ import annotations

from functools import cache
from typing import Final

ODRL: Final = "http://www.w3.org/ns/odrl/2/"
XSD: Final = "http://www.w3.org/2001/XMLSchema#"
RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS: Final = "http://www.w3.org/2000/01/rdf-schema#"
DCT: Final = "http://purl.org/dc/terms/"
DSPACE: Final = "https://w3id.org/dspace/2025/1/"
CC: Final = "http://creativecommons.org/ns#"
#: This connector's data-space profile: left operands over verified credential claims (see ``operands/credential``).
GXC: Final = "https://w3id.org/gaia-x/connector/policy/"

ODRL_CONTEXT: Final = "http://www.w3.org/ns/odrl.jsonld"
DSP_CONTEXT: Final = "https://w3id.org/dspace/2025/1/context.jsonld"
DSP_ODRL_PROFILE: Final = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"

#: Prefixes recognised in literal slots that JSON-LD does not expand (``dataType`` is typed ``xsd:anyType``).
PREFIXES: Final = {"odrl": ODRL, "xsd": XSD, "rdf": RDF, "rdfs": RDFS, "dct": DCT, "dspace": DSPACE, "gxc": GXC}

POLICY_TYPES: Final = frozenset(
    ODRL + t for t in ("Policy", "Set", "Offer", "Agreement", "Request", "Ticket", "Assertion", "Privacy")
)
#: Policy types evaluated for use (CG formal semantics §3: a Set must be evaluated, an Offer must not).
EVALUATED_TYPES: Final = frozenset(ODRL + t for t in ("Policy", "Set", "Agreement", "Ticket", "Privacy"))

CONFLICT_TERMS: Final = {ODRL + "perm": "perm", ODRL + "prohibit": "prohibit", ODRL + "invalid": "invalid"}

LOGICAL_OPERATORS: Final = {
    ODRL + "or": "or",
    ODRL + "xone": "xone",
    ODRL + "and": "and",
    ODRL + "andSequence": "andSequence",
}

OPERATORS: Final = frozenset(
    ODRL + o
    for o in ("eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf")
)

_USE_CHILDREN = [
    "read",
    "modify",
    "delete",
    "distribute",
    "aggregate",
    "anonymize",
    "archive",
    "attribute",
    "compensate",
    "concurrentUse",
    "derive",
    "digitize",
    "ensureExclusivity",
    "execute",
    "grantUse",
    "include",
    "index",
    "inform",
    "install",
    "move",
    "nextPolicy",
    "obtainConsent",
    "play",
    "present",
    "print",
    "reproduce",
    "reviewPolicy",
    "stream",
    "synchronize",
    "textToSpeech",
    "transform",
    "translate",
    "uninstall",
    "watermark",
    "acceptTracking",
    "annotate",
]

#: ``includedIn`` edges of ODRL22.ttl (child -> parent), Vocab §2.4 / IM §2.4.
INCLUDED_IN: Final[dict[str, str]] = {ODRL + a: ODRL + "use" for a in _USE_CHILDREN}
INCLUDED_IN.update(
    {
        ODRL + "display": ODRL + "play",
        ODRL + "extract": ODRL + "reproduce",
        ODRL + "give": ODRL + "transfer",
        ODRL + "sell": ODRL + "transfer",
        CC + "Attribution": ODRL + "use",
        CC + "Reproduction": ODRL + "use",
        CC + "Distribution": ODRL + "use",
        CC + "DerivativeWorks": ODRL + "use",
        CC + "Sharing": ODRL + "use",
        CC + "Notice": ODRL + "use",
        CC + "ShareAlike": ODRL + "use",
        CC + "SourceCode": ODRL + "use",
        CC + "CommercialUse": ODRL + "use",
    }
)

#: Deprecated ODRL 2.1 actions and their ``skos:exactMatch`` in 2.2 (as in SolidLab's odrl-voc-inferences.ttl).
EXACT_MATCH: Final = {
    ODRL + "write": ODRL + "modify",
    ODRL + "append": ODRL + "modify",
    ODRL + "appendTo": ODRL + "modify",
    ODRL + "copy": ODRL + "reproduce",
    ODRL + "pay": ODRL + "compensate",
    ODRL + "share": ODRL + "distribute",
    ODRL + "lease": ODRL + "transfer",
    ODRL + "lend": ODRL + "transfer",
}

#: ``implies`` edges (for conflict detection only). ODRL22.ttl asserts none; profiles may add them.
IMPLIES: Final[dict[str, frozenset[str]]] = {}

ACTIONS: Final = frozenset(INCLUDED_IN) | {ODRL + "use", ODRL + "transfer"} | frozenset(EXACT_MATCH)

LEFT_OPERANDS: Final = frozenset(
    ODRL + o
    for o in [
        "absolutePosition",
        "absoluteSpatialPosition",
        "absoluteTemporalPosition",
        "absoluteSize",
        "count",
        "dateTime",
        "delayPeriod",
        "deliveryChannel",
        "elapsedTime",
        "event",
        "fileFormat",
        "industry",
        "language",
        "media",
        "meteredTime",
        "payAmount",
        "percentage",
        "product",
        "purpose",
        "recipient",
        "relativePosition",
        "relativeSpatialPosition",
        "relativeTemporalPosition",
        "relativeSize",
        "resolution",
        "spatial",
        "spatialCoordinates",
        "systemDevice",
        "timeInterval",
        "unitOfCount",
        "version",
        "virtualLocation",
        "device",
        "system",
    ]
)

#: Bare terms accepted in vocabulary slots. The DSP 2025-1 ODRL profile context defines no left operands, so
#: ``"leftOperand": "purpose"`` expands to the *relative* IRI ``purpose``; we read it as ``odrl:purpose``.
_BARE: Final = {
    iri[len(ODRL) :]: iri
    for iri in (
        ACTIONS | LEFT_OPERANDS | OPERATORS | frozenset(LOGICAL_OPERATORS) | frozenset(CONFLICT_TERMS) | POLICY_TYPES
    )
    if iri.startswith(ODRL)
} | {"policyUsage": ODRL + "policyUsage"}


def expand_term(value: str) -> str:
    """A vocabulary value as a full IRI: bare ODRL term -> ``odrl:`` IRI, known prefix expanded, else unchanged."""
    full = _BARE.get(value)
    if full is not None:
        return full
    prefix, sep, rest = value.partition(":")
    if sep and not rest.startswith("//") and prefix in PREFIXES:
        return PREFIXES[prefix] + rest
    return value


def action_canonical(action: str) -> str:
    """The ODRL 2.2 action a deprecated 2.1 action is ``skos:exactMatch`` of, else the action itself."""
    return EXACT_MATCH.get(action, action)


@cache
def action_ancestors(action: str) -> frozenset[str]:
    """``action`` and every action it is ``includedIn``⁺ (Vocab §2.4: includedIn is transitive)."""
    seen = {action}
    current = action_canonical(action)
    seen.add(current)
    while current in INCLUDED_IN:
        current = INCLUDED_IN[current]
        if current in seen:
            break
        seen.add(current)
    return frozenset(seen)


def action_covers(granted: str, requested: str) -> bool:
    """Whether a rule on ``granted`` covers a request for ``requested`` (IM §2.4: inheritance along includedIn)."""
    return action_canonical(granted) in action_ancestors(requested)


def related_actions(a: str, b: str) -> bool:
    """Actions that can conflict: equal, ``includedIn``⁺ either way, or ``implies`` (IM §2.10)."""
    if action_covers(a, b) or action_covers(b, a):
        return True
    return b in IMPLIES.get(a, frozenset()) or a in IMPLIES.get(b, frozenset())


def short(iri: str) -> str:
    """A readable name for explanations: ``odrl:purpose`` -> ``purpose``; other IRIs unchanged."""
    if iri.startswith(ODRL):
        return iri[len(ODRL) :]
    if iri.startswith(GXC):
        return "gxc:" + iri[len(GXC) :]
    return iri
