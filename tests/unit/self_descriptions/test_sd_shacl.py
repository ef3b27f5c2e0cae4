"""SHACL over the union graph: 25.11 and 22.10 shapes, violations, the zero-focus-node guard, engine agreement."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from self_descriptions.shacl import NoFocusNodes, load_shapes, validate
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.unit


def _mutants(world: World) -> list[list[dict[str, Any]]]:
    base = world.self_description.all()
    out = [base]
    for mutate in (
        lambda c: c[0]["credentialSubject"]["gx:legalAddress"].update({"gx:countryCode": "XX"}),
        lambda c: c[0]["credentialSubject"].pop("gx:headquartersAddress"),
        lambda c: c[0]["credentialSubject"].update({"gx:unknownProperty": "closed shapes reject it"}),
        lambda c: c[2]["credentialSubject"].update({"gx:gaiaxTermsAndConditions": "nope"}),
        lambda c: c[3]["credentialSubject"].pop("gx:providedBy"),
        lambda c: c[4]["credentialSubject"].pop("gx:license"),
    ):
        docs = copy.deepcopy(base)
        mutate(docs)
        out.append(docs)
    out.append(copy.deepcopy(base[:1]))  # registration number missing from the union
    return out


def test_built_self_description_conforms_to_2511(world: World) -> None:
    report = validate(world.self_description.all(), shapes="25.11")
    assert report.conforms, report.violations
    assert report.version == "25.11"
    assert report.focus_nodes >= 6


def test_violations_name_focus_node_and_path(world: World) -> None:
    docs = copy.deepcopy(world.self_description.all())
    docs[0]["credentialSubject"].pop("gx:headquartersAddress")
    report = validate(docs)
    assert not report.conforms
    assert any(
        v.path and v.path.endswith("headquartersAddress") and v.focus_node.endswith("legal-person.json#cs")
        for v in report.violations
    )


def test_namespace_mismatch_fails_instead_of_passing(world: World) -> None:
    with pytest.raises(NoFocusNodes):
        validate(world.self_description.all(), shapes="22.10")


def test_tagus_shapes_validate_tagus_data() -> None:
    gx = "https://registry.lab.gaia-x.eu/development/api/trusted-shape-registry/v1/shapes/jsonld/trustframework#"
    vc = {
        "@context": ["https://www.w3.org/2018/credentials/v1", gx],
        "credentialSubject": {
            "id": "https://p.example/cs",
            "type": "gx:LegalParticipant",
            "gx:legalRegistrationNumber": {"id": "https://p.example/lrn"},
            "gx:headquarterAddress": {"gx:countrySubdivisionCode": "DE-BE"},
            "gx:legalAddress": {"gx:countrySubdivisionCode": "nope"},
        },
    }
    report = validate([vc], shapes="22.10")
    assert report.version == "22.10"
    assert report.focus_nodes >= 1
    assert not report.conforms


@pytest.mark.slow
def test_turbo_agrees_with_pyshacl_on_the_corpus(world: World) -> None:
    """Differential test that justifies pyshacl-turbo as the default engine."""
    load_shapes("25.11")
    for docs in _mutants(world):
        reference = validate(docs, engine="pyshacl")
        fast = validate(docs, engine="turbo")
        assert fast.conforms == reference.conforms
        assert {(v.focus_node, v.path) for v in fast.violations} == {
            (v.focus_node, v.path) for v in reference.violations
        }


def test_native_turbo_path_agrees_with_the_public_turbo_api(world: World) -> None:
    """``validate`` calls pyshacl-turbo's native program directly; the public API must give the same report."""
    from self_descriptions.shacl import _violations, data_graph

    compiled = load_shapes("25.11").compiled()
    for docs in _mutants(world):
        fast = validate(docs, engine="turbo")
        conforms, results, _ = compiled.validate(data_graph(docs))
        assert fast.conforms == bool(conforms)
        assert fast.violations == _violations(results)
    assert any(not validate(docs).conforms for docs in _mutants(world))


def test_data_graph_is_the_union_of_subjects_with_blank_nodes_kept_apart(world: World) -> None:
    from self_descriptions.shacl import SUBCLASS_AXIOMS, data_triples

    docs = world.self_description.all()
    triples = data_triples(docs)
    assert len(set(triples)) == len(triples)
    blanks = {t.subject.value for t in triples if t.subject.__class__.__name__ == "BlankNode"}
    assert blanks
    assert all(b.startswith("c") and "_" in b for b in blanks)
    types = {(t.subject.value, t.object.value) for t in triples if t.predicate.value.endswith("#type")}
    for subject, cls in list(types):
        for sup in SUBCLASS_AXIOMS.get(cls, ()):
            assert (subject, sup) in types
