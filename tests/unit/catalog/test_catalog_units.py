"""Pure parts of the catalogue: SPARQL guard, search index, policy features, settings errors, submission limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.admission import Admission, Assessment, TrustFramework, normalise_submission
from catalog.errors import CatalogueConfigurationError, QueryRefused, SubmissionRefused
from catalog.extract import from_dsp_catalog, policy_features
from catalog.model import DatasetRecord
from catalog.search import SearchIndex
from catalog.settings import load_settings
from catalog.sparql import check_query
from self_descriptions.did import OfflineDidResolver
from self_descriptions.status_list import OfflineStatusListFetcher

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ('INSERT DATA { <urn:a> <urn:b> "c" }', "sparql-update-refused"),
        ("PREFIX x: <urn:x#> DELETE WHERE { ?s ?p ?o }", "sparql-update-refused"),
        ("LOAD <http://example.com/data.ttl>", "sparql-update-refused"),
        ("CLEAR ALL", "sparql-update-refused"),
        ("SELECT * WHERE { SERVICE <http://10.0.0.1/sparql> { ?s ?p ?o } }", "sparql-service-refused"),
        ("select * where { service <http://x/> { ?s ?p ?o } }", "sparql-service-refused"),
        ("DESCRIBE", None),
        ("hello", "sparql-syntax-error"),
        ("SELECT * WHERE { ?s ?p ?o }" + " " * 30_000, "sparql-too-large"),
    ],
)
def test_sparql_guard(query: str, code: str | None) -> None:
    if code is None:
        check_query(query)
        return
    with pytest.raises(QueryRefused) as info:
        check_query(query)
    assert info.value.code == code


def test_sparql_guard_ignores_keywords_in_strings_iris_and_comments() -> None:
    check_query('SELECT ?s WHERE { ?s <urn:insert:delete> "DELETE and SERVICE" } # DROP ALL')


def _record(
    n: int, title: str, keywords: list[str], purposes: list[str], participant: str = "did:web:p"
) -> DatasetRecord:
    data = {
        "id": f"urn:d:{n}",
        "participant": participant,
        "title": title,
        "keywords": keywords,
        "type": ["Dataset"],
        "formats": ["HttpData-PULL"],
        "purposes": purposes,
        "source": "dsp",
    }
    return DatasetRecord(participant, "dsp", f"urn:d:{n}", data)


def test_search_index_matches_the_unindexed_scan_and_honours_visibility() -> None:
    index = SearchIndex()
    index.replace(
        "did:web:p",
        [_record(i, f"Weather {i}", ["weather"] if i % 2 else ["traffic"], ["research"]) for i in range(10)],
    )
    index.replace("did:web:q", [_record(100, "Weather hidden", ["weather"], [], participant="did:web:q")])
    visible = index.keys_of("did:web:p")
    for query, filters in [("weather", {}), ("", {"keyword": ["TRAFFIC"]}), ("weather 3", {"purpose": ["research"]})]:
        fast = index.search(query, filters, visible=visible, offset=0, limit=50)
        slow = index.scan(query, filters, visible=visible, offset=0, limit=50)
        assert fast.total == slow.total
        assert [i["id"] for i in fast.items] == [i["id"] for i in slow.items]
    assert index.search("hidden", {}, visible=visible, offset=0, limit=10).total == 0
    page = index.search("", {}, visible=visible, offset=8, limit=5)
    assert page.total == 10
    assert len(page.items) == 2
    index.remove_participant("did:web:p")
    assert index.search("weather", {}, visible=visible, offset=0, limit=5).total == 0


def test_policy_features_find_purpose_and_membership() -> None:
    policy = {
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "and": [
                            {
                                "leftOperand": "purpose",
                                "operator": "isAnyOf",
                                "rightOperand": ["research", "https://x.example/p#teaching"],
                            },
                            {
                                "leftOperand": {"@id": "https://w3id.org/gaia-x/membership"},
                                "operator": "eq",
                                "rightOperand": "active",
                            },
                        ]
                    }
                ],
            }
        ]
    }
    features = policy_features([policy])
    assert features["purposes"] == ["research", "teaching"]
    assert features["membershipRequired"] is True
    assert features["constraints"] == ["membership", "purpose"]


def test_dsp_catalog_extraction_handles_nested_catalogs() -> None:
    catalog = {
        "@type": "Catalog",
        "catalog": [
            {
                "@type": "Catalog",
                "dataset": [
                    {
                        "@id": "urn:a",
                        "title": "A",
                        "hasPolicy": [{"@id": "o", "permission": []}],
                        "distribution": [{"format": "HttpData-PULL", "accessService": "s"}],
                    }
                ],
            }
        ],
    }
    records = from_dsp_catalog("did:web:p", catalog, provider_name="P", endpoint="http://p", origin="dsp-crawl")
    assert [r.data["formats"] for r in records] == [["HttpData-PULL"]]


def test_submission_limits() -> None:
    with pytest.raises(SubmissionRefused) as info:
        normalise_submission("x" * 2000, max_bytes=1024)
    assert info.value.status == 413
    with pytest.raises(SubmissionRefused) as info:
        normalise_submission("[" * 100 + "]" * 100, max_bytes=1024)
    assert info.value.code == "limit-exceeded"
    with pytest.raises(SubmissionRefused):
        normalise_submission("not a presentation", max_bytes=1024)


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "catalog.toml"
    config.write_text('port = "eighty"\nadmission_mode = "sometimes"\nunknown_thing = 1\n')
    with pytest.raises(CatalogueConfigurationError) as info:
        load_settings(config)
    message = info.value.message
    assert "\n" not in message
    assert "port" in message
    assert "admission_mode" in message
    assert "unknown setting" in message
    with pytest.raises(CatalogueConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_bracket_depth_counts_only_brackets() -> None:
    from catalog.admission import _bracket_depth

    def reference(text: str) -> int:
        depth = deepest = 0
        for char in text:
            depth += char in "[{"
            depth -= char in "]}"
            deepest = max(deepest, depth)
        return deepest

    for text in ("", "eyJhbGciOiJFUzI1NiJ9.e30.sig", '{"a":[{"b":"]]"}]}', "[[[]]]{}", "}}{{é{", "[" * 40):
        assert _bracket_depth(text) == reference(text) == _bracket_depth(text.encode())


def _assessment(*checks: tuple[str, bool, str | None]) -> Assessment:
    report = {"checks": [{"name": n, "passed": p, "code": c, "message": n, "credential": 1} for n, p, c in checks]}
    return Assessment("did:web:p", False, "vc-jwt", "d", "t", report, None, None)


def test_only_unretrievable_status_lists_make_the_status_unknown() -> None:
    """An outage (Bitstring Status List v1.0 §3.5 STATUS_RETRIEVAL_ERROR) alone is not a revocation; anything else
    failing with it, or a list that was fetched but does not verify, decides as usual."""
    outage = ("credential", False, "status-retrieval-error")
    assert _assessment(("signature", True, None), outage).status_unknown
    assert not _assessment(("signature", True, None)).status_unknown
    assert not _assessment(outage, ("credential", False, "revoked")).status_unknown
    assert not _assessment(outage, ("validity", False, "expired")).status_unknown
    assert not _assessment(("credential", False, "status-verification-error")).status_unknown


def test_checking_credential_status_is_part_of_the_trust_fingerprint() -> None:
    """Switching status checks on re-verifies what was admitted without them (at start-up)."""
    trust = TrustFramework(anchors=(), notaries=("did:web:n",), compliance_issuers=(), shapes_versions=("25.11",))
    unchecked = Admission(trust, resolver=OfflineDidResolver([]), x5u_fetcher=None)
    checked = Admission(
        trust, resolver=OfflineDidResolver([]), x5u_fetcher=None, status_lists=OfflineStatusListFetcher()
    )
    assert unchecked.trust.as_dict()["credentialStatus"] == "not-checked"
    assert checked.trust.as_dict()["credentialStatus"] == "W3C Bitstring Status List v1.0"
    assert checked.trust.fingerprint != unchecked.trust.fingerprint
