from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from policies import Request, World, compile_policy, evaluate
from tests.fixtures.policies.support import LOADER, NOW, parse, policy_doc

pytestmark = pytest.mark.unit

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.sampled_from(["research", "teaching", "ads", "health", "x1", "x2"])
ASSET = "http://ex.org/asset"


def sat(constraint: dict[str, Any], **params: Any) -> str:
    report = evaluate(parse(policy_doc(constraints=[constraint])), Request("use", ASSET, None, params), World(now=NOW))
    result: str = report.rules[0].constraints[0].satisfaction
    return result


@SETTINGS
@given(
    right=st.lists(WORDS, min_size=1, max_size=4, unique=True),
    left=st.lists(WORDS, min_size=0, max_size=4, unique=True),
)
def test_is_any_of_and_is_none_of_are_complementary(right: list[str], left: list[str]) -> None:
    any_of = sat({"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": right}, purpose=left)
    none_of = sat({"leftOperand": "purpose", "operator": "isNoneOf", "rightOperand": right}, purpose=left)
    assert {any_of, none_of} == {"satisfied", "unsatisfied"}


@SETTINGS
@given(truths=st.lists(st.booleans(), min_size=1, max_size=5))
def test_xone_holds_iff_exactly_one_operand_holds(truths: list[bool]) -> None:
    operands = [
        {"leftOperand": "purpose", "operator": "eq" if t else "neq", "rightOperand": "research"} for t in truths
    ]
    result = sat({"xone": {"@list": operands}}, purpose="research")
    assert (result == "satisfied") == (truths.count(True) == 1)


OPS = st.sampled_from(["eq", "neq", "lt", "lteq", "gt", "gteq"])


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    constraints: list[Any] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["time", "count", "purpose", "logical"]))
        if kind == "time":
            day = draw(st.integers(1, 28))
            constraints.append(
                {"leftOperand": "dateTime", "operator": draw(OPS), "rightOperand": f"2025-06-{day:02d}T00:00:00Z"}
            )
        elif kind == "count":
            constraints.append({"leftOperand": "count", "operator": draw(OPS), "rightOperand": draw(st.integers(0, 5))})
        elif kind == "purpose":
            op = draw(st.sampled_from(["isAnyOf", "isNoneOf", "isAllOf"]))
            constraints.append(
                {
                    "leftOperand": "purpose",
                    "operator": op,
                    "rightOperand": draw(st.lists(WORDS, min_size=1, max_size=3, unique=True)),
                }
            )
        else:
            operands = [
                {"leftOperand": "purpose", "operator": "eq", "rightOperand": draw(WORDS)},
                {"leftOperand": "count", "operator": draw(OPS), "rightOperand": draw(st.integers(0, 5))},
            ]
            constraints.append({draw(st.sampled_from(["or", "xone", "and"])): {"@list": operands}})
    doc = policy_doc(constraints=constraints)
    if draw(st.booleans()):
        doc["prohibition"] = [
            {
                "@id": "http://ex.org/rule/no",
                "target": ASSET,
                "action": draw(st.sampled_from(["print", "distribute"])),
                "constraint": [constraints[0]],
            }
        ]
        doc["conflict"] = draw(st.sampled_from(["perm", "prohibit", "invalid"]))
    doc["permission"][0]["@id"] = "http://ex.org/rule/yes"
    return doc


def _turtle(doc: dict[str, Any]) -> str:
    options = {
        "documentLoader": LOADER,
        "base": None,
        "format": "application/n-quads",
        "contextResolver": ContextResolver({}, LOADER),
    }
    nq = jsonld.to_rdf(doc, options)
    graph = rdflib.Graph()
    graph.parse(data=nq, format="nt")
    return str(graph.serialize(format="turtle"))


def _normal(report: dict[str, Any]) -> dict[str, Any]:
    # RDF has no order for repeated values (several constraints on one rule): compare constraints as a multiset.
    # Repeated right-operand values are a set in RDF too.
    def norm(entry: dict[str, Any]) -> dict[str, Any]:
        if isinstance(entry.get("right_operand"), list):
            entry["right_operand"] = sorted(entry["right_operand"], key=repr)
        if "operands" in entry:
            entry["operands"] = [norm(o) for o in entry["operands"]]
        return entry

    for rule in report["rules"]:
        rule["constraints"] = sorted((norm(c) for c in rule["constraints"]), key=repr)
    return report


@SETTINGS
@given(
    doc=policies(),
    purpose=WORDS,
    count=st.integers(0, 6),
    day=st.integers(1, 28),
    action=st.sampled_from(["read", "print", "distribute"]),
)
def test_evaluation_is_independent_of_the_json_ld_form(
    doc: dict[str, Any], purpose: str, count: int, day: int, action: str
) -> None:
    request = Request(action, ASSET, None, {"purpose": purpose})
    world = World(now=dt.datetime(2025, 6, day, 12, tzinfo=dt.UTC), counters={"use": count})
    expanded = jsonld.expand(
        doc, {"documentLoader": LOADER, "base": None, "contextResolver": ContextResolver({}, LOADER)}
    )
    reports = [_normal(evaluate(parse(form), request, world).to_json()) for form in (doc, expanded, _turtle(doc))]
    assert reports[0] == reports[1]
    # The Turtle form has no constraint order, so the one-line reason may name another failing constraint.
    reports[0].pop("reason")
    reports[2].pop("reason")
    assert reports[0] == reports[2]


@SETTINGS
@given(
    doc=policies(),
    purpose=WORDS,
    count=st.integers(0, 6),
    action=st.sampled_from(["read", "print", "transfer"]),
    target=st.sampled_from([ASSET, "http://ex.org/other"]),
    behaviour=st.sampled_from(["closed", "open"]),
)
def test_decide_agrees_with_the_full_report(
    doc: dict[str, Any], purpose: str, count: int, action: str, target: str, behaviour: str
) -> None:
    compiled = compile_policy(parse(doc), behaviour=behaviour)  # type: ignore[arg-type]
    request = Request(action, target, None, {"purpose": purpose})
    world = World(now=NOW, counters={"use": count})
    assert compiled.decide(request, world) == (compiled.evaluate(request, world).decision == "permit")
