from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from policies import Request, World, evaluate
from policies.values import parse_duration, parse_time
from policies.vocabulary import GXC
from tests.fixtures.policies.support import NOW, parse, policy_doc

pytestmark = pytest.mark.unit


def satisfaction(constraint: dict[str, Any], *, params: dict[str, Any] | None = None, **world: Any) -> str:
    policy = parse(policy_doc(constraints=[constraint]))
    report = evaluate(
        policy,
        Request("use", "http://ex.org/asset", "http://ex.org/alice", params or {}),
        World(now=world.pop("now", NOW), **world),
    )
    result: str = report.rules[0].constraints[0].satisfaction
    return result


def c(left: str, op: str, right: Any, **extra: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": op, "rightOperand": right, **extra}


@pytest.mark.parametrize(
    ("op", "right", "expected"),
    [
        ("lt", "2025-06-02T00:00:00Z", "satisfied"),
        ("lt", "2025-06-01T12:00:00Z", "unsatisfied"),
        ("lteq", "2025-06-01T12:00:00Z", "satisfied"),
        ("gt", "2025-06-01T11:59:59Z", "satisfied"),
        ("gteq", "2025-06-01T12:00:01Z", "unsatisfied"),
        ("eq", "2025-06-01T14:00:00+02:00", "satisfied"),
        ("neq", "2025-06-01T14:00:00+02:00", "unsatisfied"),
        # xsd:date is the whole day
        ("lteq", {"@value": "2025-06-01Z", "@type": "xsd:date"}, "satisfied"),
        ("lt", {"@value": "2025-06-01Z", "@type": "xsd:date"}, "unsatisfied"),
        ("eq", {"@value": "2025-06-01Z", "@type": "xsd:date"}, "satisfied"),
        ("gt", {"@value": "2025-05-31Z", "@type": "xsd:date"}, "satisfied"),
        # untyped, DSP style without seconds
        ("lteq", "2025-12-31T06:00Z", "satisfied"),
        # no zone: decided when every zone agrees, indeterminate otherwise
        ("lt", "2025-06-03T00:00:00", "satisfied"),
        ("lt", "2025-06-01T13:00:00", "indeterminate"),
        ("lt", "2025-05-30", "unsatisfied"),
        ("lt", "not a date", "indeterminate"),
    ],
)
def test_datetime(op: str, right: Any, expected: str) -> None:
    assert satisfaction(c("dateTime", op, right)) == expected


@pytest.mark.parametrize(
    ("op", "right", "value", "expected"),
    [
        ("lteq", "P1D", "PT23H", "satisfied"),
        ("lt", "PT1H", "PT1H", "unsatisfied"),
        ("eq", "PT60M", "PT1H", "satisfied"),
        ("lt", "P1M", "P27D", "satisfied"),
        ("lt", "P1M", "P30D", "indeterminate"),  # XSD partial order: 28..31 days
        ("lteq", "P1Y", "P13M", "unsatisfied"),
    ],
)
def test_duration(op: str, right: str, value: str, expected: str) -> None:
    assert satisfaction(c("elapsedTime", op, right), measures={"elapsedTime": value}) == expected


def test_duration_from_timedelta_and_missing() -> None:
    assert (
        satisfaction(c("meteredTime", "lt", "PT2H"), measures={"meteredTime": dt.timedelta(minutes=90)}) == "satisfied"
    )
    assert satisfaction(c("meteredTime", "lt", "PT2H")) == "indeterminate"


@pytest.mark.parametrize(
    ("op", "right", "value", "expected"),
    [
        ("eq", {"@value": "5.00", "@type": "xsd:decimal"}, "5", "satisfied"),
        ("gt", 4.5, "5", "satisfied"),
        ("lt", "10", 10, "unsatisfied"),
        ("lteq", 10, "10.0", "satisfied"),
        ("gteq", 0, "-1", "unsatisfied"),
        ("neq", 3, "3.000", "unsatisfied"),
        ("eq", 3, "three", "indeterminate"),
    ],
)
def test_decimal(op: str, right: Any, value: Any, expected: str) -> None:
    assert satisfaction(c("payAmount", op, right), params={"payAmount": value}) == expected


def test_integer_count_from_ledger_sums_included_actions_and_status_fallback() -> None:
    assert satisfaction(c("count", "lt", 3), counters={"read": 1, "print": 1}) == "satisfied"
    assert satisfaction(c("count", "lt", 3), counters={"read": 2, "print": 1}) == "unsatisfied"
    assert satisfaction(c("count", "lt", 3), counters={"transfer": 9}) == "satisfied"  # use does not include transfer
    assert satisfaction(c("count", "lt", 3, status=2)) == "satisfied"
    assert satisfaction(c("count", "lt", 3)) == "indeterminate"


def test_unit_mismatch_is_indeterminate() -> None:
    constraint = c("payAmount", "eq", 5, unit="http://ex.org/EUR")
    assert satisfaction(constraint, params={"payAmount": {"value": 5, "unit": "http://ex.org/EUR"}}) == "satisfied"
    assert satisfaction(constraint, params={"payAmount": {"value": 5, "unit": "http://ex.org/USD"}}) == "indeterminate"


@pytest.mark.parametrize(
    ("op", "right", "value", "expected"),
    [
        ("isAnyOf", ["research", "teaching"], "research", "satisfied"),
        ("isAnyOf", ["research", "teaching"], ["marketing", "teaching"], "satisfied"),
        ("isAnyOf", ["research"], "marketing", "unsatisfied"),
        ("isNoneOf", ["marketing"], "research", "satisfied"),
        ("isNoneOf", ["marketing"], ["research", "marketing"], "unsatisfied"),
        ("isAllOf", ["a", "b"], ["a", "b", "c"], "satisfied"),
        ("isAllOf", ["a", "b"], ["a"], "unsatisfied"),
        ("eq", "research", "research", "satisfied"),
        ("eq", "research", ["research", "marketing"], "unsatisfied"),
        ("eq", ["a", "b"], ["b", "a"], "satisfied"),
        ("neq", "research", "marketing", "satisfied"),
        ("lt", "research", "marketing", "indeterminate"),  # strings have no order
    ],
)
def test_set_operators_and_tokens(op: str, right: Any, value: Any, expected: str) -> None:
    assert satisfaction(c("purpose", op, right), params={"purpose": value}) == expected


def test_missing_value_is_indeterminate_for_every_operator() -> None:
    for op in ("eq", "neq", "isAnyOf", "isNoneOf", "isAllOf"):
        assert satisfaction(c("purpose", op, ["x"])) == "indeterminate"


def test_iri_operands_and_part_of_is_a() -> None:
    eu = {"@id": "http://ex.org/EU"}
    part_of = {"http://ex.org/DE": ["http://ex.org/EU"], "http://ex.org/Berlin": ["http://ex.org/DE"]}
    assert (
        satisfaction(c("spatial", "isPartOf", eu), params={"spatial": "http://ex.org/Berlin"}, part_of=part_of)
        == "satisfied"
    )
    assert (
        satisfaction(c("spatial", "isPartOf", eu), params={"spatial": "http://ex.org/US"}, part_of=part_of)
        == "unsatisfied"
    )
    assert (
        satisfaction(
            c("spatial", "hasPart", {"@id": "http://ex.org/Berlin"}),
            params={"spatial": "http://ex.org/EU"},
            part_of=part_of,
        )
        == "satisfied"
    )
    classes = {"http://ex.org/acme": ["http://ex.org/SME"], "http://ex.org/SME": ["http://ex.org/Company"]}
    assert (
        satisfaction(
            c("industry", "isA", {"@id": "http://ex.org/Company"}),
            params={"industry": "http://ex.org/acme"},
            classes=classes,
        )
        == "satisfied"
    )
    assert (
        satisfaction(
            c("industry", "isA", {"@id": "http://ex.org/NGO"}),
            params={"industry": "http://ex.org/acme"},
            classes=classes,
        )
        == "unsatisfied"
    )


def test_language_is_case_insensitive() -> None:
    assert satisfaction(c("language", "eq", "en-GB"), params={"language": "EN-gb"}) == "satisfied"


def test_credential_claims() -> None:
    member = c(GXC + "membership", "isAnyOf", ["https://w3id.org/ds/demo"])
    assert satisfaction(member, claims={"membership": ["https://w3id.org/ds/demo"]}) == "satisfied"
    assert satisfaction(member, claims={"membership": []}) == "unsatisfied"
    assert satisfaction(member) == "indeterminate"
    compliant = c(GXC + "gaiaxCompliant", "eq", {"@value": "true", "@type": "xsd:boolean"})
    assert satisfaction(compliant, claims={"gaiaxCompliant": True}) == "satisfied"
    assert satisfaction(compliant, claims={"gaiaxCompliant": False}) == "unsatisfied"


def test_right_operand_reference_comes_from_the_world() -> None:
    constraint = {"leftOperand": "count", "operator": "lt", "rightOperandReference": "http://ex.org/limit"}
    assert satisfaction(constraint, counters={"use": 1}, references={"http://ex.org/limit": 2}) == "satisfied"
    assert satisfaction(constraint, counters={"use": 1}) == "indeterminate"


def test_unknown_left_operand_and_contradicting_datatype_are_indeterminate() -> None:
    assert satisfaction(c("http://ex.org/custom", "eq", "x")) == "indeterminate"
    assert satisfaction(c("dateTime", "lt", "5", dataType="xsd:decimal")) == "indeterminate"


def test_value_parsers() -> None:
    assert parse_time("2025-01-01T24:00:00Z").start == dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    assert parse_duration("-P1DT1.5S").seconds < 0
    with pytest.raises(ValueError, match="xsd:duration"):
        parse_duration("P")
