"""ODRL 2.2 policy engine: model, parsing, evaluation with explanations, negotiation support. Pure library.

Public API (what the connector calls)::

    from policies import parse_policy, evaluate, compile_policy, Request, World, to_jsonld

    policy = parse_policy(document, loader=DocumentLoader())      # JSON-LD (any context) or Turtle -> Policy
    policy = resolve_inheritance(policy, {uid: parent, ...})       # only if it uses inheritFrom
    report = evaluate(policy, Request(action="use", target=ds, party=did, parameters={"purpose": "research"}),
                      World(now=now, counters=ledger_counts, claims=verified_claims), scope="transfer")
    report.decision            # "permit" | "deny"
    report.explain()           # one line of why, then per rule / constraint
    report.to_json()           # the stable shape of `gxc policy evaluate --json`
    report.to_w3c()            # W3C ODRL CG evaluation report as JSON-LD
    compiled = compile_policy(policy, scope="transfer")   # hot path: compiled.evaluate(request, world)
    to_jsonld(policy, context="dsp")                      # compact JSON-LD, ODRL or DSP 2025-1 context

Negotiation: :func:`equivalent`, :func:`narrower`, :func:`make_agreement`. Templates: :mod:`policies.templates`
(``membership_required``, ``purpose_in``, ``time_window``, ``at_most_uses``, ``region``, ``named_recipients``,
``gaiax_compliant``, ``credential_required``, ``combine``). Operands: :mod:`policies.operands`
(``default_registry()``, ``Operand``, scopes ``catalog / negotiation / transfer / access / monitor``, plugins in the
``gxc.policy_operands`` entry-point group). Errors derive from :class:`PolicyError` (stable ``code``).

Semantics (odrl.md §1.9) and the decisions on the disagreement points (odrl.md §6) are documented in
:mod:`policies.evaluate`, :mod:`policies.operators`, :mod:`policies.values` and :mod:`policies.parse`.
Nothing here reads a clock, opens a socket or fetches a JSON-LD context.
"""

from policies.compare import equivalent, make_agreement, narrower, normalize
from policies.errors import InheritanceError, OperandError, PolicyError, PolicyParseError, RequestError, UnknownProfile
from policies.evaluate import CompiledPolicy, compile_policy, evaluate
from policies.inherit import resolve_inheritance
from policies.model import Action, Asset, Constraint, LogicalConstraint, Party, Policy, Rule, Term
from policies.parse import KNOWN_PROFILES, expand, parse_policy
from policies.report import ConstraintResult, Report, RuleResult
from policies.serialize import to_jsonld
from policies.sotw import request_from_document, request_from_policy, world_from_document
from policies.state import PerformedAction, Request, World

__all__ = [
    "KNOWN_PROFILES",
    "Action",
    "Asset",
    "CompiledPolicy",
    "Constraint",
    "ConstraintResult",
    "InheritanceError",
    "LogicalConstraint",
    "OperandError",
    "Party",
    "PerformedAction",
    "Policy",
    "PolicyError",
    "PolicyParseError",
    "Report",
    "Request",
    "RequestError",
    "Rule",
    "RuleResult",
    "Term",
    "UnknownProfile",
    "World",
    "compile_policy",
    "equivalent",
    "evaluate",
    "expand",
    "make_agreement",
    "narrower",
    "normalize",
    "parse_policy",
    "request_from_document",
    "request_from_policy",
    "resolve_inheritance",
    "to_jsonld",
    "world_from_document",
]
