from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from policies import (
    InheritanceError,
    PerformedAction,
    Request,
    World,
    compile_policy,
    evaluate,
    request_from_document,
    resolve_inheritance,
    world_from_document,
)
from tests.fixtures.policies.support import NOW, ODRL_CTX, fixture_json, parse, policy_doc

pytestmark = pytest.mark.unit

ASSET = "http://ex.org/asset"
ALICE = "http://ex.org/alice"


def req(action: str = "use", target: str | None = ASSET, party: str | None = ALICE, **params: Any) -> Request:
    return Request(action, target, party, params)


def purpose(op: str, value: Any) -> dict[str, Any]:
    return {"leftOperand": "purpose", "operator": op, "rightOperand": value}


# ------------------------------------------------------------------------------------------ CG worked examples


def test_cg_a1_constrained_permission() -> None:
    policy = parse(fixture_json("cg_a1_policy.json"))
    alice, asset = "http://example.com/party/alice", "http://example.com/asset/1"
    before = evaluate(policy, Request("read", asset, alice), World(now=dt.datetime(2025, 12, 30, 12, tzinfo=dt.UTC)))
    after = evaluate(policy, Request("read", asset, alice), World(now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)))
    assert (before.decision, before.rules[0].activation) == ("permit", "active")
    assert (after.decision, after.rules[0].activation) == ("deny", "inactive")


def test_cg_b1_refinement_active_but_deny() -> None:
    policy = parse(fixture_json("cg_b1_policy.json"))
    billie, doc = "http://example.com/party/billie", "http://example.com/document/1"
    ok = evaluate(policy, Request("print", doc, billie, {"resolution": 1200}), World(now=NOW))
    too_fine = evaluate(policy, Request("print", doc, billie, {"resolution": 2400}), World(now=NOW))
    assert ok.decision == "permit"
    assert too_fine.decision == "deny"
    assert too_fine.rules[0].activation == "active"
    assert too_fine.rules[0].state == "deny"
    assert "resolution" in too_fine.reason


def _c1_world(paid: bool, amount: str = "5.00") -> World:
    data: dict[str, Any] = {"now": "2025-07-25T00:00:00Z"}
    if paid:
        data["performed"] = [
            {
                "action": "compensate",
                "time": "2025-07-23T00:00:00Z",
                "party": "http://example.com/party/billie",
                "parameters": {"payAmount": {"value": amount, "unit": "http://dbpedia.org/resource/Euro"}},
            }
        ]
    return world_from_document(data)


def test_cg_c1_duty_not_fulfilled_denies_and_payment_permits() -> None:
    policy = parse(fixture_json("cg_c1_policy.json"))
    request = Request("play", "http://example.com/music/1999.mp3", "http://example.com/party/billie")
    unpaid = evaluate(policy, request, _c1_world(False))
    assert unpaid.decision == "deny"
    assert unpaid.rules[0].duties[0].state == "not-set"
    assert "duty compensate" in unpaid.reason
    assert evaluate(policy, request, _c1_world(True)).decision == "permit"
    assert evaluate(policy, request, _c1_world(True, amount="4.00")).decision == "deny"  # refinement on the duty


def test_cg_c12_documents_request_and_sotw() -> None:
    policy = parse(fixture_json("cg_c1_policy.json"))
    request, now = request_from_document(fixture_json("cg_c12_request.json"))
    world = world_from_document(fixture_json("cg_c12_world.json"), now=now)
    assert evaluate(policy, request, world).decision == "permit"


@pytest.mark.parametrize(
    ("sunday", "paid", "decision", "duty_activation"),
    [(False, False, "permit", "inactive"), (True, False, "deny", "active"), (True, True, "permit", "active")],
)
def test_cg_c2_duty_with_constraint(sunday: bool, paid: bool, decision: str, duty_activation: str) -> None:
    policy = parse(fixture_json("cg_c2_policy.json"))
    facts = {"event": "http://example.com/event/Sunday" if sunday else "http://example.com/event/Monday"}
    performed = (
        (PerformedAction("compensate", NOW - dt.timedelta(hours=1), party="http://example.com/party/billie"),)
        if paid
        else ()
    )
    report = evaluate(
        policy,
        Request("play", "http://example.com/music/1999.mp3", "http://example.com/party/billie"),
        World(now=NOW, facts=facts, performed=performed),
    )
    assert report.decision == decision
    assert report.rules[0].duties[0].activation == duty_activation


def test_duty_performed_after_now_does_not_count_and_wrong_party_does_not_count() -> None:
    policy = parse(fixture_json("cg_c2_policy.json"))
    request = Request("play", "http://example.com/music/1999.mp3", "http://example.com/party/billie")
    facts = {"event": "http://example.com/event/Sunday"}
    later = (PerformedAction("compensate", NOW + dt.timedelta(hours=1), party="http://example.com/party/billie"),)
    other = (PerformedAction("compensate", NOW, party="http://example.com/party/mallory"),)
    assert evaluate(policy, request, World(now=NOW, facts=facts, performed=later)).decision == "deny"
    assert evaluate(policy, request, World(now=NOW, facts=facts, performed=other)).decision == "deny"


def test_duty_consequence_fulfils_it() -> None:
    doc = policy_doc()
    doc["permission"][0]["duty"] = [{"action": "attribute", "consequence": [{"action": "compensate"}]}]
    policy = parse(doc)
    paid = World(now=NOW, performed=(PerformedAction("compensate", NOW, party=ALICE),))
    assert evaluate(policy, req(), World(now=NOW)).decision == "deny"
    assert evaluate(policy, req(), paid).decision == "permit"


def test_post_use_duty_is_monitored_not_gating() -> None:
    doc = policy_doc()
    doc["permission"][0]["duty"] = [
        {
            "action": "delete",
            "constraint": [{"leftOperand": "dateTime", "operator": "lteq", "rightOperand": "2025-07-01T00:00:00Z"}],
        }
    ]
    policy = parse(doc)
    report = evaluate(policy, req(), World(now=NOW))
    assert report.decision == "permit"
    duty = report.rules[0].duties[0]
    assert (duty.state, duty.gating) == ("not-set", False)
    late = evaluate(policy, req(), World(now=dt.datetime(2025, 8, 1, tzinfo=dt.UTC)))
    assert late.rules[0].duties[0].state == "violated"


# --------------------------------------------------------------------------------------- IM conflict examples


def test_im_example_34_perm_strategy_lets_permission_win() -> None:
    policy = parse(fixture_json("im_example34_conflict_perm.json"))
    report = evaluate(policy, Request("print", "http://example.com/asset:1212"), World(now=NOW))
    assert (report.decision, report.conflict) == ("permit", "perm")


def test_im_example_35_prohibit_strategy_lets_prohibition_win() -> None:
    policy = parse(fixture_json("im_example35_conflict_prohibit.json"))
    report = evaluate(policy, Request("print", "http://example.com/asset:1212"), World(now=NOW))
    assert (report.decision, report.conflict) == ("deny", "prohibit")
    # play is covered by use and not by print: no conflict
    assert evaluate(policy, Request("play", "http://example.com/asset:1212"), World(now=NOW)).decision == "permit"


def test_default_conflict_strategy_invalid_voids_the_policy() -> None:
    doc = fixture_json("im_example34_conflict_perm.json")
    del doc["conflict"]
    report = evaluate(parse(doc), Request("print", "http://example.com/asset:1212"), World(now=NOW))
    assert (report.decision, report.conflict) == ("deny", "invalid")
    assert "void" in report.reason


# ------------------------------------------------------------------------------------- combination, behaviour


def test_action_hierarchy() -> None:
    use = parse(policy_doc())
    assert evaluate(use, req("read"), World(now=NOW)).decision == "permit"
    assert evaluate(use, req("transfer"), World(now=NOW)).decision == "deny"
    assert evaluate(use, req("sell"), World(now=NOW)).decision == "deny"
    assert evaluate(use, req("odrl:write"), World(now=NOW)).decision == "permit"  # deprecated 2.1 -> modify
    doc = policy_doc()
    doc["permission"][0]["action"] = "read"
    assert evaluate(parse(doc), req("use"), World(now=NOW)).decision == "deny"


def test_closed_and_open_world() -> None:
    policy = parse(policy_doc())
    other = req(target="http://ex.org/other")
    assert evaluate(policy, other, World(now=NOW)).decision == "deny"
    assert "closed world" in evaluate(policy, other, World(now=NOW)).reason
    assert evaluate(policy, other, World(now=NOW), behaviour="open").decision == "permit"
    failing = parse(policy_doc(constraints=[purpose("eq", "research")]))
    assert evaluate(failing, req(purpose="ads"), World(now=NOW), behaviour="open").decision == "deny"


def test_several_constraints_are_a_conjunction_for_prohibitions_too() -> None:
    doc = policy_doc()
    doc["prohibition"] = [
        {
            "target": ASSET,
            "action": "use",
            "constraint": [purpose("eq", "ads"), {"leftOperand": "spatial", "operator": "eq", "rightOperand": "US"}],
        }
    ]
    doc["conflict"] = "prohibit"
    policy = parse(doc)
    assert evaluate(policy, req(purpose="ads", spatial="DE"), World(now=NOW)).decision == "permit"
    assert evaluate(policy, req(purpose="ads", spatial="US"), World(now=NOW)).decision == "deny"


def test_indeterminate_prohibition_denies_and_says_so() -> None:
    doc = policy_doc()
    doc["prohibition"] = [
        {
            "target": ASSET,
            "action": "use",
            "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "US"}],
        }
    ]
    doc["conflict"] = "prohibit"
    report = evaluate(parse(doc), req(), World(now=NOW))
    assert report.decision == "deny"
    assert "indeterminate" in report.reason
    assert "spatial" in report.reason


def test_indeterminate_permission_does_not_permit() -> None:
    policy = parse(policy_doc(constraints=[purpose("isNoneOf", ["ads"])]))
    report = evaluate(policy, req(), World(now=NOW))
    assert report.decision == "deny"
    assert report.rules[0].constraints[0].satisfaction == "indeterminate"


def test_one_of_several_permissions_suffices() -> None:
    doc = policy_doc(
        constraints=[{"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2020-01-01T00:00:00Z"}]
    )
    doc["permission"].append({"target": ASSET, "action": "use"})
    report = evaluate(parse(doc), req(), World(now=NOW))
    assert report.decision == "permit"
    assert [r.activation for r in report.rules] == ["inactive", "active"]


def test_assignee_and_collections() -> None:
    doc = policy_doc()
    doc["permission"][0]["assignee"] = {"@type": "PartyCollection", "uid": "http://ex.org/members"}
    doc["permission"][0]["target"] = {"@type": "AssetCollection", "uid": "http://ex.org/archive"}
    policy = parse(doc)
    facts = {
        "http://ex.org/alice": ["http://ex.org/team"],
        "http://ex.org/team": ["http://ex.org/members"],
        ASSET: ["http://ex.org/archive"],
    }
    assert evaluate(policy, req(), World(now=NOW, part_of=facts)).decision == "permit"
    assert evaluate(policy, req(party="http://ex.org/bob"), World(now=NOW, part_of=facts)).decision == "deny"
    assert evaluate(policy, req(party=None), World(now=NOW, part_of=facts)).decision == "deny"


def test_collection_refinement_is_evaluated_on_the_request() -> None:
    doc = policy_doc()
    doc["permission"][0]["target"] = {
        "@type": "AssetCollection",
        "source": "http://ex.org/archive",
        "refinement": [{"leftOperand": "language", "operator": "eq", "rightOperand": "en"}],
    }
    policy = parse(doc)
    world = World(now=NOW, part_of={ASSET: ["http://ex.org/archive"]})
    assert evaluate(policy, req(language="en"), world).decision == "permit"
    assert evaluate(policy, req(language="de"), world).decision == "deny"


def test_logical_constraints() -> None:
    a, b = purpose("eq", "a"), {"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}

    def decide(op: str, **params: Any) -> str:
        return evaluate(parse(policy_doc(constraints=[{op: [a, b]}])), req(**params), World(now=NOW)).decision

    assert decide("or", purpose="a", spatial="US") == "permit"
    assert decide("or", purpose="x", spatial="US") == "deny"
    assert decide("and", purpose="a", spatial="EU") == "permit"
    assert decide("and", purpose="a", spatial="US") == "deny"
    assert decide("xone", purpose="a", spatial="US") == "permit"
    assert decide("xone", purpose="a", spatial="EU") == "deny"
    assert decide("xone", purpose="a") == "deny"  # the other operand is unknown: indeterminate
    assert decide("or", purpose="a") == "permit"  # one known true operand suffices


def test_and_sequence_stops_at_the_first_failure_in_order() -> None:
    seq = {
        "andSequence": {
            "@list": [purpose("eq", "a"), {"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}]
        }
    }
    policy = parse(policy_doc(constraints=[seq]))
    report = evaluate(policy, req(purpose="x", spatial="EU"), World(now=NOW))
    logical = report.rules[0].constraints[0]
    assert logical.satisfaction == "unsatisfied"
    assert len(logical.operands) == 1
    assert evaluate(policy, req(purpose="a", spatial="EU"), World(now=NOW)).decision == "permit"


def test_obligation_states() -> None:
    doc = policy_doc()
    doc["obligation"] = [
        {
            "action": "delete",
            "target": ASSET,
            "assignee": ALICE,
            "constraint": [{"leftOperand": "dateTime", "operator": "lteq", "rightOperand": "2025-07-01T00:00:00Z"}],
        }
    ]
    policy = parse(doc)
    states = [
        evaluate(policy, req(), World(now=NOW)).rules[1].state,
        evaluate(policy, req(), World(now=NOW, performed=(PerformedAction("delete", NOW, ALICE, ASSET),)))
        .rules[1]
        .state,
        evaluate(policy, req(), World(now=dt.datetime(2025, 8, 1, tzinfo=dt.UTC))).rules[1].state,
    ]
    assert states == ["not-set", "fulfilled", "violated"]
    assert evaluate(policy, req(), World(now=NOW)).decision == "permit"  # obligations never gate


def test_prohibition_violation_and_remedy() -> None:
    doc = policy_doc()
    doc["prohibition"] = [{"target": ASSET, "action": "distribute", "remedy": [{"action": "delete"}]}]
    policy = parse(doc)
    done = (PerformedAction("distribute", NOW - dt.timedelta(hours=2), ALICE, ASSET),)
    assert evaluate(policy, req("read"), World(now=NOW, performed=done)).rules[1].state == "violated"
    remedied = (*done, PerformedAction("delete", NOW - dt.timedelta(hours=1), ALICE))
    assert evaluate(policy, req("read"), World(now=NOW, performed=remedied)).rules[1].state == "fulfilled"


def test_offer_is_not_evaluated_for_use_but_is_in_catalog_scope() -> None:
    doc = policy_doc(constraints=[purpose("eq", "a")])
    doc["@type"] = "Offer"
    doc["assigner"] = "http://ex.org/prov"
    policy = parse(doc)
    assert "Offer is not evaluated" in evaluate(policy, req(purpose="a"), World(now=NOW)).reason
    assert evaluate(policy, req(purpose="a"), World(now=NOW), scope="catalog").decision == "permit"


def test_operand_bound_to_another_scope_is_indeterminate() -> None:
    from policies.operands import Operand, default_registry

    registry = default_registry()
    registry.register(Operand("http://ex.org/tier", "token", lambda ctx, c: "gold"), scopes=["catalog"])
    policy = parse(
        policy_doc(constraints=[{"leftOperand": "http://ex.org/tier", "operator": "eq", "rightOperand": "gold"}])
    )
    assert evaluate(policy, req(), World(now=NOW), scope="catalog", registry=registry).decision == "permit"
    report = evaluate(policy, req(), World(now=NOW), scope="transfer", registry=registry)
    assert report.decision == "deny"
    assert "not supported in scope transfer" in report.reason


def test_inheritance_any_depth_cycles_and_status_nulled() -> None:
    grand = {
        "@context": ODRL_CTX,
        "@type": "Set",
        "uid": "http://ex.org/g",
        "conflict": "perm",
        "prohibition": [{"target": ASSET, "action": "print"}],
    }
    parent = {
        **policy_doc(constraints=[{"leftOperand": "count", "operator": "lt", "rightOperand": 3, "status": 1}]),
        "uid": "http://ex.org/parent",
        "inheritFrom": "http://ex.org/g",
    }
    child = {
        "@context": ODRL_CTX,
        "@type": "Set",
        "uid": "http://ex.org/child",
        "inheritFrom": "http://ex.org/parent",
        "permission": [{"target": ASSET, "action": "read"}],
    }
    policies = {p.uid: p for p in map(parse, (grand, parent, child))}
    merged = resolve_inheritance(policies["http://ex.org/child"], policies)
    assert len(merged.permissions) == 2
    assert len(merged.prohibitions) == 1
    assert merged.strategy == "perm"
    inherited = merged.permissions[1].constraints[0]
    assert getattr(inherited, "status", "x") is None
    assert evaluate(merged, req("print"), World(now=NOW, counters={"use": 0})).decision == "permit"
    with pytest.raises(InheritanceError, match="resolve it first"):
        compile_policy(policies["http://ex.org/child"])
    looped = {**grand, "inheritFrom": "http://ex.org/child"}
    policies["http://ex.org/g"] = parse(looped)
    with pytest.raises(InheritanceError, match="cycle"):
        resolve_inheritance(policies["http://ex.org/child"], policies)
    with pytest.raises(InheritanceError, match="not known"):
        resolve_inheritance(policies["http://ex.org/child"], {})


def test_disagreeing_merged_strategies_fall_back_to_invalid() -> None:
    a = {
        "@context": ODRL_CTX,
        "@type": "Set",
        "uid": "http://ex.org/a",
        "conflict": "prohibit",
        "permission": [{"target": ASSET, "action": "use"}],
    }
    b = {
        "@context": ODRL_CTX,
        "@type": "Set",
        "uid": "http://ex.org/b",
        "conflict": "perm",
        "inheritFrom": "http://ex.org/a",
        "prohibition": [{"target": ASSET, "action": "print"}],
    }
    merged = resolve_inheritance(parse(b), {"http://ex.org/a": parse(a)})
    assert merged.strategy == "invalid"
    assert evaluate(merged, req("print"), World(now=NOW)).conflict == "invalid"


def test_report_json_shape_explanation_and_w3c() -> None:
    policy = parse(policy_doc(constraints=[purpose("isAnyOf", ["research", "teaching"])]))
    report = evaluate(policy, req(purpose="marketing"), World(now=NOW))
    assert (
        report.reason
        == "denied: permission 1 requires purpose isAnyOf [research, teaching] but the request's purpose is marketing"
    )
    data = report.to_json()
    assert set(data) == {"decision", "reason", "conflict", "rules"}
    rule = data["rules"][0]
    assert set(rule) == {"id", "type", "activation", "state", "constraints", "duties"}
    assert rule["constraints"][0] == {
        "left_operand": "purpose",
        "operator": "isAnyOf",
        "right_operand": ["research", "teaching"],
        "value": "marketing",
        "satisfaction": "unsatisfied",
    }
    w3c = report.to_w3c()
    assert w3c["@type"] == "report:PolicyReport"
    assert w3c["report:ruleReport"][0]["report:activationState"] == {"@id": "report:Inactive"}
    assert "purpose isAnyOf" in report.explain()


def test_compiled_policy_gives_the_same_report() -> None:
    policy = parse(fixture_json("dsp_agreement_message.json"))
    compiled = compile_policy(policy, scope="transfer")
    request, _ = request_from_document(fixture_json("typical_request.json"))
    world = world_from_document(fixture_json("typical_world.json"))
    assert compiled.evaluate(request, world) == evaluate(policy, request, world, scope="transfer")
    assert compiled.decide(request, world) is True


def test_world_requires_an_aware_time() -> None:
    from policies import RequestError

    with pytest.raises(RequestError, match="time zone"):
        World(now=dt.datetime(2025, 1, 1))


def test_deferred_operand_is_satisfied_with_its_reason() -> None:
    """A connector may defer usage constraints before use; the report says so instead of dropping them."""
    from policies import Request, World, compile_policy
    from policies.operands import Deferred, Operand, default_registry
    from policies.vocabulary import ODRL

    registry = default_registry()
    registry.register(
        Operand(ODRL + "purpose", "token", lambda ctx, c: Deferred("checked on access")), scopes=["negotiation"]
    )
    policy = parse(
        {
            "@context": ODRL_CTX,
            "@type": "Offer",
            "uid": "urn:p",
            "permission": [
                {
                    "action": "use",
                    "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}],
                }
            ],
        }
    )
    report = compile_policy(policy, scope="negotiation", registry=registry).evaluate(
        Request(action="use"), World(now=NOW)
    )
    assert report.decision == "permit"
    (constraint,) = report.rules[0].constraints
    assert constraint.satisfaction == "satisfied"
    assert constraint.reason == "deferred: checked on access"
    agreement = parse({**policy_json_agreement(), "@context": ODRL_CTX})
    denied = compile_policy(agreement, scope="access", registry=registry).evaluate(
        Request(action="use"), World(now=NOW)
    )
    assert denied.decision == "deny"


def policy_json_agreement() -> dict[str, Any]:
    return {
        "@type": "Agreement",
        "uid": "urn:a",
        "assigner": "did:web:p",
        "assignee": "did:web:c",
        "target": "urn:ds",
        "permission": [
            {"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}]}
        ],
    }
