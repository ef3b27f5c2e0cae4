"""Catalog builder, filter handling, Link-header pagination and HTTPS binding paths."""

from __future__ import annotations

from typing import Any

import pytest

from connector.dsp import paths
from connector.dsp.catalog import Catalog, CatalogRequestMessage, DataService, Dataset
from connector.dsp.catalog_builder import DatasetEntry, build_catalog, build_dataset, catalog_offer, check_filter
from connector.dsp.codec import encode_message, parse_message
from connector.dsp.errors import CatalogConfigurationError, DspError, UnsupportedFilter
from connector.dsp.pagination import Page, link_header, page_from_query, page_url, parse_link_header

pytestmark = pytest.mark.unit

SERVICE = DataService(id="urn:uuid:svc", endpoint_url="https://provider.example/dsp/2025-1")


def offer(offer_id: str, **extra: Any) -> dict[str, Any]:
    return {"@id": offer_id, "@type": "Offer", "permission": [{"action": "use"}], **extra}


def test_catalog_strips_target_and_validates() -> None:
    entries = [
        DatasetEntry(
            "urn:ds:1",
            [offer("urn:o:1", target="urn:ds:1")],
            formats=["HttpData-PULL", "HttpData-PUSH"],
            properties={"title": "One"},
        ),
        DatasetEntry("urn:ds:2", [offer("urn:o:2"), offer("urn:o:3")]),
    ]
    catalog = build_catalog(
        catalog_id="urn:cat", participant_id="did:web:provider.example", service=SERVICE, datasets=entries
    )
    wire = encode_message(catalog)  # official schema: offers inside a catalog must not carry target
    assert wire["participantId"] == "did:web:provider.example"
    assert wire["service"] == [
        {"@id": "urn:uuid:svc", "@type": "DataService", "endpointURL": "https://provider.example/dsp/2025-1"}
    ]
    first = wire["dataset"][0]
    assert "target" not in first["hasPolicy"][0]
    assert first["title"] == "One"
    assert [d["format"] for d in first["distribution"]] == ["HttpData-PULL", "HttpData-PUSH"]
    assert {d["accessService"] for d in first["distribution"]} == {"urn:uuid:svc"}
    assert parse_message(wire, Catalog) == catalog


def test_empty_catalog_is_legal() -> None:
    wire = encode_message(build_catalog(catalog_id="urn:cat", participant_id="did:web:p", service=SERVICE, datasets=[]))
    assert "dataset" not in wire


def test_standalone_dataset_inlines_the_service() -> None:
    dataset = build_dataset(DatasetEntry("urn:ds:1", [offer("urn:o:1")]), SERVICE, inline_service=True)
    wire = encode_message(dataset)
    assert wire["distribution"][0]["accessService"]["endpointURL"] == SERVICE.endpoint_url
    assert parse_message(wire, Dataset) == dataset


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        (
            [DatasetEntry("urn:ds:1", [offer("urn:o:1")]), DatasetEntry("urn:ds:2", [offer("urn:o:1")])],
            "duplicate offer",
        ),
        ([DatasetEntry("urn:ds:1", [offer("urn:o:1"), offer("urn:o:1")])], "duplicate offer"),
        (
            [DatasetEntry("urn:ds:1", [offer("urn:o:1")]), DatasetEntry("urn:ds:1", [offer("urn:o:2")])],
            "duplicate dataset",
        ),
        ([DatasetEntry("urn:ds:1", [])], "no offer"),
        ([DatasetEntry("urn:ds:1", [offer("urn:o:1")], formats=[])], "no distribution"),
        ([DatasetEntry("urn:ds:1", [{"permission": [{"action": "use"}]}])], "needs an @id"),
        ([DatasetEntry("urn:ds:1", [offer("urn:o:1")], properties={"hasPolicy": []})], "may not set"),
    ],
)
def test_catalog_rules_are_enforced(entries: list[DatasetEntry], match: str) -> None:
    with pytest.raises(CatalogConfigurationError, match=match) as info:
        build_catalog(catalog_id="urn:cat", participant_id="did:web:p", service=SERVICE, datasets=entries)
    assert info.value.status == 500


def test_catalog_offer_forces_offer_type_and_drops_context() -> None:
    result = catalog_offer({"@context": "x", "@id": "urn:o", "@type": "Set", "target": "t", "permission": []})
    assert result == {"@id": "urn:o", "@type": "Offer", "permission": []}


def test_filters() -> None:
    check_filter(None)
    check_filter([])
    request = parse_message(
        b'{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"CatalogRequestMessage","filter":[{"q":1}]}',
        CatalogRequestMessage,
    )
    with pytest.raises(UnsupportedFilter) as info:
        check_filter(request.filter)
    assert info.value.status == 400
    assert info.value.code == "unsupported-filter"


# --- pagination ------------------------------------------------------------------------------------------------------


def test_link_header_middle_page() -> None:
    header = link_header("https://p.example/dsp/catalog/request?x=1", Page(offset=10, limit=10), total=35)
    assert header == (
        '<https://p.example/dsp/catalog/request?x=1&offset=0&limit=10>; rel="previous", '
        '<https://p.example/dsp/catalog/request?x=1&offset=20&limit=10>; rel="next"'
    )
    assert parse_link_header(header or "") == {
        "previous": "https://p.example/dsp/catalog/request?x=1&offset=0&limit=10",
        "next": "https://p.example/dsp/catalog/request?x=1&offset=20&limit=10",
    }


def test_link_header_edges() -> None:
    assert link_header("https://p/c", Page(0, 10), total=10) is None
    first = link_header("https://p/c", Page(0, 10), total=11)
    assert first == '<https://p/c?offset=10&limit=10>; rel="next"'
    last = link_header("https://p/c?offset=10&limit=10", Page(10, 10), total=11)
    assert last == '<https://p/c?offset=0&limit=10>; rel="previous"'


def test_pages_cover_every_item_once() -> None:
    items = list(range(23))
    page: Page | None = Page(0, 5)
    seen: list[int] = []
    while page is not None:
        seen.extend(page.slice(items))
        page = page.next(len(items))
    assert seen == items


def test_parse_link_header_from_peers() -> None:
    links = parse_link_header(['<https://a/1>; rel="next"', "<https://a/0>; rel=previous; title=x"])
    assert links == {"next": "https://a/1", "previous": "https://a/0"}


@pytest.mark.parametrize("query", [{"offset": "-1"}, {"limit": "0"}, {"limit": "100000"}, {"offset": "x"}])
def test_bad_page_query(query: dict[str, str]) -> None:
    with pytest.raises(DspError) as info:
        page_from_query(query)
    assert info.value.status == 400


def test_page_query_defaults_and_url() -> None:
    assert page_from_query({}) == Page(0, 50)
    assert page_url("https://p/c?limit=3&a=b", Page(6, 3)) == "https://p/c?a=b&offset=6&limit=3"
    with pytest.raises(ValueError, match="invalid page"):
        Page(-1, 1)


# --- paths -----------------------------------------------------------------------------------------------------------


def test_provider_paths_are_the_binding() -> None:
    assert dict((p, m) for m, p in paths.PROVIDER_ENDPOINTS) == {
        "/catalog/request": "POST",
        "/catalog/datasets/{id}": "GET",
        "/negotiations/{providerPid}": "GET",
        "/negotiations/request": "POST",
        "/negotiations/{providerPid}/request": "POST",
        "/negotiations/{providerPid}/events": "POST",
        "/negotiations/{providerPid}/agreement/verification": "POST",
        "/negotiations/{providerPid}/termination": "POST",
        "/transfers/{providerPid}": "GET",
        "/transfers/request": "POST",
        "/transfers/{providerPid}/start": "POST",
        "/transfers/{providerPid}/completion": "POST",
        "/transfers/{providerPid}/termination": "POST",
        "/transfers/{providerPid}/suspension": "POST",
    }


def test_consumer_paths_are_the_binding() -> None:
    assert [p for _, p in paths.CONSUMER_ENDPOINTS] == [
        "/negotiations/offers",
        "/negotiations/{consumerPid}",
        "/negotiations/{consumerPid}/offers",
        "/negotiations/{consumerPid}/agreement",
        "/negotiations/{consumerPid}/events",
        "/negotiations/{consumerPid}/termination",
        "/transfers/{consumerPid}/start",
        "/transfers/{consumerPid}/completion",
        "/transfers/{consumerPid}/termination",
        "/transfers/{consumerPid}/suspension",
    ]
    assert paths.WELL_KNOWN_VERSION == "/.well-known/dspace-version"


@pytest.mark.parametrize("callback", ["https://c.example/cb", "https://c.example/cb/", "https://c.example/cb//"])
@pytest.mark.parametrize("path", ["/negotiations/x/offers", "negotiations/x/offers"])
def test_join_tolerates_trailing_and_leading_slashes(callback: str, path: str) -> None:
    assert paths.join(callback, path) == "https://c.example/cb/negotiations/x/offers"


def test_fill_encodes_pids() -> None:
    pid = "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833"
    assert paths.fill(paths.CALLBACK_NEGOTIATION_AGREEMENT, consumerPid=pid) == f"/negotiations/{pid}/agreement"
    assert paths.fill(paths.CATALOG_DATASET, id="a/b?c#d") == "/catalog/datasets/a%2Fb%3Fc%23d"
    with pytest.raises(ValueError, match="no placeholder"):
        paths.fill(paths.TRANSFER_START, consumerPid=pid)
    with pytest.raises(ValueError, match="unfilled"):
        paths.fill(paths.TRANSFER_START)


def test_a_partial_fill_leaves_unknown_pids_for_later() -> None:
    template = paths.join("https://p.example/dsp", paths.TRANSFER_TERMINATION)
    left = paths.fill(template, partial=True)
    assert paths.placeholders(left) == ["providerPid"]
    done = paths.fill(left, providerPid="urn:uuid:1/2")
    assert done == "https://p.example/dsp/transfers/urn:uuid:1%2F2/termination"
    assert paths.placeholders(done) == []
