from __future__ import annotations

import datetime as dt

import pytest

from policies import PolicyError, Request, World, equivalent, evaluate, make_agreement, narrower, to_jsonld
from policies.templates import (
    CATALOGUE,
    at_most_uses,
    combine,
    credential_required,
    gaiax_compliant,
    membership_required,
    named_recipients,
    purpose_in,
    region,
    time_window,
)
from tests.fixtures.policies.support import NOW, parse, policy_doc

pytestmark = pytest.mark.unit

DS = "https://w3id.org/gaia-x/demo"
PROVIDER, CONSUMER, TARGET = "did:web:provider.example", "did:web:consumer.example", "urn:dataset:a"


def test_equivalence_ignores_order_lexical_forms_and_ids() -> None:
    a = parse(
        policy_doc(
            constraints=[
                {"leftOperand": "count", "operator": "lt", "rightOperand": 3},
                {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2025-01-01T00:00:00Z"},
            ]
        )
    )
    b_doc = policy_doc(
        constraints=[
            {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2025-01-01T01:00:00+01:00"},
            {"leftOperand": "count", "operator": "lt", "rightOperand": "3"},
        ]
    )
    b_doc["uid"] = "http://ex.org/other"
    assert equivalent(a, parse(b_doc))
    c_doc = policy_doc(constraints=[{"leftOperand": "count", "operator": "lt", "rightOperand": 4}])
    assert not equivalent(a, parse(c_doc))
    assert equivalent(a, parse(to_jsonld(a, "dsp")))


def test_narrower_than() -> None:
    offer = parse(
        policy_doc(
            constraints=[
                {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research", "teaching"]},
                {"leftOperand": "count", "operator": "lt", "rightOperand": 5},
            ]
        )
    )
    stricter = parse(
        policy_doc(
            constraints=[
                {"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"},
                {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
                {"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"},
            ]
        )
    )
    wider = parse(
        policy_doc(constraints=[{"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research", "ads"]}])
    )
    assert narrower(stricter, offer)
    assert narrower(offer, offer)
    assert not narrower(offer, stricter)
    assert not narrower(wider, offer)
    read_only = policy_doc(
        constraints=[
            {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research"]},
            {"leftOperand": "count", "operator": "lt", "rightOperand": 5},
        ]
    )
    read_only["permission"][0]["action"] = "read"
    assert narrower(parse(read_only), offer)


def test_make_agreement_from_offer() -> None:
    offer = purpose_in(["research"], assigner=PROVIDER).policy
    stamp = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    agreement = make_agreement(offer, agreement_id="urn:agreement:1", assignee=CONSUMER, timestamp=stamp, target=TARGET)
    assert agreement.type_name == "Agreement"
    assert agreement.timestamp == "2025-06-01T00:00:00Z"
    rule = agreement.permissions[0]
    assert (rule.target and rule.target.uid, rule.assignee and rule.assignee.uid) == (TARGET, CONSUMER)
    assert equivalent(agreement, offer)
    out = to_jsonld(agreement, "dsp")
    assert (out["target"], out["assigner"], out["assignee"], out["dspace:timestamp"]) == (
        TARGET,
        PROVIDER,
        CONSUMER,
        "2025-06-01T00:00:00Z",
    )
    assert parse(out) == agreement
    with pytest.raises(PolicyError, match="target"):
        make_agreement(offer, agreement_id="urn:a", assignee=CONSUMER, timestamp=stamp)
    with pytest.raises(PolicyError, match="time zone"):
        make_agreement(offer, agreement_id="urn:a", assignee=CONSUMER, timestamp=dt.datetime(2025, 1, 1), target=TARGET)


def _agreement_a() -> object:
    start = NOW - dt.timedelta(hours=1)
    offer = combine(
        membership_required(DS),
        purpose_in(["research"]),
        at_most_uses(3),
        time_window(start, start + dt.timedelta(days=1)),
        uid="urn:policy:a",
        assigner=PROVIDER,
    )
    return make_agreement(
        offer.policy, agreement_id="urn:agreement:a", assignee=CONSUMER, timestamp=start, target=TARGET
    )


def test_demo_dataset_a_members_research_three_uses_one_day() -> None:
    agreement = _agreement_a()
    member = {"membership": [DS]}
    request = Request("use", TARGET, CONSUMER, {"purpose": "research"})
    decide = lambda world: evaluate(agreement, request, world).decision  # noqa: E731
    assert decide(World(now=NOW, counters={"use": 2}, claims=member)) == "permit"
    assert decide(World(now=NOW, counters={"use": 3}, claims=member)) == "deny"
    assert decide(World(now=NOW + dt.timedelta(days=1), counters={"use": 0}, claims=member)) == "deny"
    assert decide(World(now=NOW, counters={"use": 0}, claims={"membership": []})) == "deny"
    ads = evaluate(
        agreement,
        Request("use", TARGET, CONSUMER, {"purpose": "ads"}),
        World(now=NOW, counters={"use": 0}, claims=member),
    )
    assert "purpose isAnyOf [research]" in ads.reason


def test_demo_dataset_b_missing_credential_is_explained() -> None:
    offer = credential_required("https://w3id.org/gaia-x/demo#DataProcessorCredential", assigner=PROVIDER).policy
    agreement = make_agreement(offer, agreement_id="urn:agreement:b", assignee=CONSUMER, timestamp=NOW, target=TARGET)
    report = evaluate(
        agreement, Request("use", TARGET, CONSUMER), World(now=NOW, claims={"credentialType": ["LegalPerson"]})
    )
    assert report.decision == "deny"
    assert "credentialType isAllOf" in report.reason
    assert (
        evaluate(
            offer,
            Request("use", None, CONSUMER),
            World(now=NOW, claims={"credentialType": ["LegalPerson"]}),
            scope="catalog",
        ).decision
        == "deny"
    )


def test_every_template_parses_back_and_is_listed() -> None:
    start = NOW
    templates = [
        membership_required(DS),
        purpose_in(["research"]),
        time_window(start, start + dt.timedelta(days=1)),
        at_most_uses(3),
        region(["DE", "FR"]),
        named_recipients([CONSUMER]),
        gaiax_compliant(),
        credential_required("X"),
    ]
    for template in templates:
        assert template.name in CATALOGUE
        assert parse(template.jsonld) == template.policy
        assert parse(template.jsonld, fast=False) == template.policy
    assert membership_required(DS).policy.uid == membership_required(DS).policy.uid  # deterministic ids
    with pytest.raises(ValueError, match="end must be after start"):
        time_window(start, start)
    with pytest.raises(ValueError, match="at least 1"):
        at_most_uses(0)


def test_dsp_form_writes_logical_constraints_as_plain_arrays() -> None:
    """DSP 2025-1 contract-schema.json requires arrays for and/or/xone; andSequence keeps its RDF list (order)."""
    import datetime as dt

    from policies import templates, to_jsonld
    from policies.parse import parse_policy
    from self_descriptions.loader import DocumentLoader

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    window = templates.time_window(now, now + dt.timedelta(days=1))
    policy = parse_policy(window.jsonld, loader=DocumentLoader())
    logical = to_jsonld(policy, context="dsp")["permission"][0]["constraint"][0]
    assert isinstance(logical["and"], list)
    assert len(logical["and"]) == 2
    assert isinstance(to_jsonld(policy, context="odrl")["permission"][0]["constraint"][0]["and"], dict)
