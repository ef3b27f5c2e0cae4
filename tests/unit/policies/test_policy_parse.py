from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import rdflib
from pyld import jsonld

from policies import PolicyParseError, UnknownProfile, to_jsonld
from policies.model import Constraint, LogicalConstraint
from policies.vocabulary import GXC, ODRL, XSD
from tests.fixtures.policies.support import LOADER, ODRL_CTX, fixture_json, fixture_text, parse, policy_doc

pytestmark = pytest.mark.unit

FIXTURE_POLICIES = [
    "cg_a1_policy.json",
    "cg_b1_policy.json",
    "cg_c1_policy.json",
    "cg_c2_policy.json",
    "im_example34_conflict_perm.json",
    "im_example35_conflict_prohibit.json",
    "dsp_agreement_message.json",
]


@pytest.mark.parametrize("name", FIXTURE_POLICIES)
def test_fast_path_yields_the_same_model_as_pyld(name: str) -> None:
    doc = fixture_json(name)
    assert parse(doc, fast=True) == parse(doc, fast=False)


@pytest.mark.parametrize("name", FIXTURE_POLICIES)
def test_expanded_form_gives_the_same_model(name: str) -> None:
    doc = fixture_json(name)
    expanded = jsonld.expand(doc, {"documentLoader": LOADER, "base": None})
    assert parse(expanded) == parse(doc)


@pytest.mark.parametrize("context", ["odrl", "dsp"])
@pytest.mark.parametrize("name", FIXTURE_POLICIES)
def test_to_jsonld_round_trips_through_both_paths(name: str, context: str) -> None:
    policy = parse(fixture_json(name))
    out = to_jsonld(policy, context)  # type: ignore[arg-type]
    assert parse(out) == policy
    assert parse(out, fast=False) == policy


def test_dsp_policy_types_expand_in_sequence_with_warm_caches() -> None:
    # dsp.md addendum: pyld's @import cache must not drop terms when different policy types follow each other.
    offer = parse(fixture_json("dsp_agreement_message.json"))
    for policy_type in ("Offer", "Agreement", "Set", "Offer", "Agreement"):
        doc = to_jsonld(offer, "dsp")
        doc["@type"] = policy_type
        reparsed = parse(doc, fast=False)
        assert reparsed.type == ODRL + policy_type
        assert len(reparsed.permissions) == 1
        assert len(reparsed.permissions[0].constraints) == 3


def test_turtle_gives_the_same_rules_as_json() -> None:
    from_ttl = parse(fixture_text("typical_agreement.ttl"))
    from_json = parse(fixture_json("dsp_agreement_message.json"))
    assert from_ttl.uid == from_json.uid
    key = repr
    assert sorted(map(key, from_ttl.permissions[0].constraints)) == sorted(
        map(key, from_json.permissions[0].constraints)
    )
    assert from_ttl.permissions[0].target == from_json.permissions[0].target


def test_dsp_message_untyped_datetime_and_bare_operands() -> None:
    policy = parse(fixture_json("dsp_agreement_message.json"))
    rule = policy.permissions[0]
    first = rule.constraints[0]
    assert isinstance(first, Constraint)
    assert first.left_operand == ODRL + "dateTime"
    assert first.right_operand[0].value == "2023-12-31T06:00Z"
    assert rule.target is not None
    assert rule.target.uid == "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23"
    assert rule.assignee is not None
    assert rule.assignee.uid == "did:web:consumer.example"
    assert policy.timestamp == "2023-01-01T01:00:00Z"


def test_logical_operands_as_list_and_repeated_values_are_equal() -> None:
    ops = [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": "a"},
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": "b"},
    ]
    as_list = parse(policy_doc(constraints=[{"or": {"@list": ops}}]))
    repeated = parse(policy_doc(constraints=[{"or": ops}]))
    assert as_list == repeated
    node = as_list.permissions[0].constraints[0]
    assert isinstance(node, LogicalConstraint)
    assert node.operator == "or"
    assert len(node.operands) == 2


def test_and_sequence_keeps_order_from_turtle_rdf_list() -> None:
    ttl = """
    @prefix odrl: <http://www.w3.org/ns/odrl/2/> .
    <http://ex.org/p> a odrl:Set ; odrl:permission [ odrl:action odrl:use ; odrl:target <http://ex.org/a> ;
      odrl:constraint [ odrl:andSequence (
        [ odrl:leftOperand odrl:purpose ; odrl:operator odrl:eq ; odrl:rightOperand "z" ]
        [ odrl:leftOperand odrl:purpose ; odrl:operator odrl:eq ; odrl:rightOperand "a" ] ) ] ] .
    """
    node = parse(ttl).permissions[0].constraints[0]
    assert isinstance(node, LogicalConstraint)
    values = [o.right_operand[0].value for o in node.operands if isinstance(o, Constraint)]
    assert values == ["z", "a"]


def test_compact_policy_level_properties_are_copied_and_atomized() -> None:
    doc = {
        "@context": ODRL_CTX,
        "@type": "Agreement",
        "uid": "http://ex.org/p",
        "target": "http://ex.org/a",
        "assigner": "http://ex.org/prov",
        "assignee": "http://ex.org/cons",
        "permission": [{"action": ["read", "print"]}],
    }
    policy = parse(doc)
    assert [r.action.iri for r in policy.permissions] == [ODRL + "read", ODRL + "print"]
    assert all(r.target and r.target.uid == "http://ex.org/a" for r in policy.permissions)
    assert len({r.uid for r in policy.permissions}) == 2


def test_collections_with_refinement_need_source() -> None:
    doc = policy_doc()
    doc["permission"][0]["target"] = {
        "@type": "AssetCollection",
        "source": "http://ex.org/archive",
        "refinement": [{"leftOperand": "language", "operator": "eq", "rightOperand": "en"}],
    }
    target = parse(doc).permissions[0].target
    assert target is not None
    assert target.collection
    assert target.ref == "http://ex.org/archive"
    del doc["permission"][0]["target"]["source"]
    with pytest.raises(PolicyParseError, match="source"):
        parse(doc)


def test_right_operand_reference_unit_datatype_status() -> None:
    doc = policy_doc(
        constraints=[
            {"leftOperand": "count", "operator": "lteq", "rightOperandReference": "http://ex.org/limit", "status": 2},
            {
                "leftOperand": "payAmount",
                "operator": "eq",
                "rightOperand": "5",
                "unit": "http://ex.org/EUR",
                "dataType": "xsd:decimal",
            },
        ]
    )
    a, b = parse(doc).permissions[0].constraints
    assert isinstance(a, Constraint)
    assert isinstance(b, Constraint)
    assert a.right_operand_reference == "http://ex.org/limit"
    assert a.status is not None
    assert a.status.value == "2"
    assert b.unit == "http://ex.org/EUR"
    assert b.data_type == XSD + "decimal"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("permission"), "at least one"),
        (lambda d: d["permission"][0].pop("action"), "must have an action"),
        (
            lambda d: d["permission"][0].update(constraint=[{"leftOperand": "purpose", "operator": "eq"}]),
            "exactly one of",
        ),
        (
            lambda d: d["permission"][0].update(
                constraint=[{"leftOperand": "purpose", "operator": "odrl:like", "rightOperand": "x"}]
            ),
            "unknown operator",
        ),
        (
            lambda d: d["permission"][0].update(constraint=[{"operator": "eq", "rightOperand": "x"}]),
            "missing leftOperand",
        ),
        (lambda d: d.update(conflict="http://ex.org/bogus"), "conflict must be"),
        (lambda d: d.pop("uid"), "no uid"),
    ],
)
def test_parse_errors_say_where_and_why(mutate: Any, match: str) -> None:
    doc = copy.deepcopy(policy_doc())
    mutate(doc)
    with pytest.raises(PolicyParseError, match=match) as info:
        parse(doc)
    assert info.value.code == "parse-error"


def test_invalid_json_and_turtle_and_unpinned_context() -> None:
    with pytest.raises(PolicyParseError, match="invalid JSON at line 1"):
        parse("{not json")
    with pytest.raises(PolicyParseError, match="invalid Turtle"):
        parse("this is not turtle")
    with pytest.raises(PolicyParseError, match="not pinned"):
        parse({**policy_doc(), "@context": "https://evil.example/context.jsonld"})


def test_unknown_profile_is_refused_known_is_accepted() -> None:
    doc = policy_doc(profile="http://ex.org/profile/x")
    with pytest.raises(UnknownProfile) as info:
        parse(doc)
    assert info.value.code == "unknown-profile"
    assert parse(doc, profiles=["http://ex.org/profile/x"]).profiles == ("http://ex.org/profile/x",)
    assert parse(policy_doc(profile=GXC)).profiles == (GXC,)


def test_blank_rule_labels_are_positional_and_turtle_is_deterministic() -> None:
    policy = parse(fixture_json("im_example34_conflict_perm.json"))
    assert [r.uid for r in policy.rules] == ["_:permission-1", "_:prohibition-1"]
    nq = jsonld.to_rdf(
        fixture_json("cg_b1_policy.json"), {"documentLoader": LOADER, "base": None, "format": "application/n-quads"}
    )
    graph = rdflib.Graph()
    graph.parse(data=nq, format="nt")
    ttl = graph.serialize(format="turtle")
    assert parse(ttl) == parse(ttl) == parse(fixture_json("cg_b1_policy.json"))


def test_model_is_frozen_and_hashable() -> None:
    policy = parse(fixture_json("cg_c1_policy.json"))
    assert hash(policy) == hash(parse(fixture_json("cg_c1_policy.json")))
    with pytest.raises(AttributeError):
        policy.uid = "x"  # type: ignore[misc]
    assert json.dumps(to_jsonld(policy))
