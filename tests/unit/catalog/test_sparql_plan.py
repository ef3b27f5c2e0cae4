"""Join-order rewriting of the SPARQL worker: selective patterns first, same solutions, unusual groups untouched."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyoxigraph as ox
import pytest

from catalog import sparql_worker
from catalog.sparql_plan import ESTIMATE_CAP, reorder

pytestmark = pytest.mark.unit

PREFIXES = """PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/>
PREFIX gxc: <https://w3id.org/gxc/catalogue#>
"""
TYPICAL = (
    PREFIXES
    + """SELECT ?d ?title WHERE { ?d dcat:keyword "weather" ; dct:publisher <did:web:p1.example> ;
  gxc:purpose "research" ; dct:title ?title } LIMIT 50"""
)


def _estimates(counts: dict[str, int]) -> Any:
    def estimate(query: str) -> int:
        return next((n for needle, n in counts.items() if needle in query), ESTIMATE_CAP)

    return estimate


def test_the_most_selective_pattern_goes_first() -> None:
    out = reorder(TYPICAL, _estimates({"dct:publisher": 10, "dcat:keyword": 1500, "gxc:purpose": 2000}))
    body = out[out.index("WHERE {") :]
    assert body.index("dct:publisher") < body.index("dcat:keyword") < body.index("gxc:purpose")
    assert body.index("gxc:purpose") < body.index("dct:title")
    assert out.startswith(PREFIXES)
    assert out.rstrip().endswith("LIMIT 50")


def test_joined_patterns_come_before_a_cross_product() -> None:
    query = "SELECT * WHERE { ?a <urn:p> ?b . ?c <urn:q> ?d . ?b <urn:r> ?c }"
    out = reorder(query, _estimates({"<urn:p>": 1, "<urn:q>": 2, "<urn:r>": 3}))
    assert out.index("<urn:p>") < out.index("<urn:r>") < out.index("<urn:q>")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { ?d <urn:k> 'x' . OPTIONAL { ?d <urn:t> ?t } ?d <urn:p> <urn:a> }",
        "SELECT * WHERE { ?d <urn:k> 'x' ; <urn:p> [ <urn:q> ?v ] }",
        "SELECT * WHERE { ?d <urn:k> 'x' ; <urn:p>/<urn:q> ?v }",
        "SELECT * WHERE { ?d <urn:k> 'x' ; <urn:p> ?v . FILTER EXISTS { ?v <urn:q> 1 } }",
        "SELECT * WHERE { VALUES ?d { <urn:a> <urn:b> <urn:c> <urn:d> <urn:e> <urn:f> } ?d <urn:k> 'x' }",
        "SELECT * WHERE { ?d <urn:k> 'x' ; <urn:p> ?v . BIND(1 AS ?one) }",
        "SELECT * WHERE { GRAPH ?g { ?d <urn:k> 'x' ; <urn:p> <urn:a> } }",
        "SELECT * WHERE { ?d <urn:k> _:x . FILTER(?d != <urn:a>) _:x <urn:p> <urn:a> }",
        "not sparql at all {",
    ],
)
def test_groups_other_than_plain_triples_and_filters_are_left_alone(query: str) -> None:
    assert reorder(query, _estimates({"<urn:p>": 1})) == query


def test_filters_literals_and_strings_survive_the_rewrite() -> None:
    query = (
        'SELECT * WHERE { ?d <urn:k> "a { b } # c"@en-GB , "2"^^<http://www.w3.org/2001/XMLSchema#integer> ; '
        "<urn:p> <urn:a> . FILTER(CONTAINS(STR(?d), \"{\")) FILTER regex(?d, 'x') } # comment"
    )
    out = reorder(query, _estimates({"<urn:p>": 1}))
    assert out.index("<urn:p>") < out.index("<urn:k>")
    for part in ('"a { b } # c"@en-GB', '"2"^^<http://www.w3.org/2001/XMLSchema#integer>', "FILTER regex(?d, 'x')"):
        assert part in out
    assert 'FILTER(CONTAINS(STR(?d), "{"))' in out


def _store() -> ox.Store:
    store = ox.Store()
    for i in range(300):
        graph = ox.NamedNode(f"did:web:p{i % 7}.example")
        d = ox.NamedNode(f"https://p.example/d/{i}")
        quads = [
            (ox.NamedNode("http://purl.org/dc/terms/publisher"), graph),
            (ox.NamedNode("http://www.w3.org/ns/dcat#keyword"), ox.Literal(["weather", "air", "soil"][i % 3])),
            (ox.NamedNode("https://w3id.org/gxc/catalogue#purpose"), ox.Literal(["research", "teaching"][i % 2])),
            (ox.NamedNode("http://purl.org/dc/terms/title"), ox.Literal(f"Dataset {i}", language="en")),
        ]
        store.extend(ox.Quad(d, p, o, graph) for p, o in quads)
    return store


def _solutions(answer: tuple[Any, ...]) -> Counter[str]:
    import json

    assert answer[0] == "ok", answer
    return Counter(json.dumps(b, sort_keys=True) for b in json.loads(answer[2])["results"]["bindings"])


@pytest.mark.parametrize(
    "query",
    [
        TYPICAL.replace("p1", "p3").replace("LIMIT 50", ""),
        PREFIXES
        + 'SELECT ?d WHERE { ?d dct:publisher ?p . ?d dcat:keyword "air" . FILTER(?p != <did:web:p2.example>) }',
        PREFIXES + "SELECT ?p (COUNT(?d) AS ?n) WHERE { ?d dct:publisher ?p ; gxc:purpose 'teaching' } GROUP BY ?p",
        PREFIXES + 'SELECT * WHERE { ?d dct:title ?t ; dcat:keyword "soil" , "air" }',
    ],
)
def test_the_rewritten_query_has_the_same_solutions(query: str) -> None:
    store = _store()
    sparql_worker._PLANS.clear()
    planned = sparql_worker.plan(store, query, None)
    assert planned != query
    original = store.query(query, use_default_graph_as_union=True)
    assert isinstance(original, ox.QuerySolutions)
    expected = Counter(
        "|".join(str(s[v.value]) for v in original.variables) for s in original
    )  # the same multiset of solutions
    rewritten = store.query(planned, use_default_graph_as_union=True)
    assert isinstance(rewritten, ox.QuerySolutions)
    assert Counter("|".join(str(s[v.value]) for v in rewritten.variables) for s in rewritten) == expected
    every = [f"did:web:p{i}.example" for i in range(7)]
    assert _solutions(sparql_worker.query(store, query, None, 10_000)) == _solutions(
        sparql_worker.query(store, query, every, 10_000)
    )


def test_plans_are_forgotten_when_graphs_change_and_syntax_errors_stay_errors() -> None:
    store = _store()
    sparql_worker.plan(store, TYPICAL, None)
    assert sparql_worker._PLANS
    sparql_worker.handle(store, ("drop", ["did:web:p0.example"]))
    assert not sparql_worker._PLANS
    answer = sparql_worker.handle(store, ("query", "SELECT * WHERE { ?s ?p }", None, 10))
    assert answer[:2] == ("error", "sparql-syntax-error")
