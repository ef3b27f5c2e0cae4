"""The per-loader JSON-LD context cache: same output as fresh resolution, no leak through ``@import``, per loader."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from self_descriptions import canonical
from self_descriptions.canonical import canonicalize, expand, to_nquads
from self_descriptions.loader import DocumentLoader
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.unit

GX = "https://w3id.org/gaia-x/development#"


def _fresh(document: dict[str, Any], loader: DocumentLoader) -> str:
    """The reference: pyld with a resolver of its own (what every call did before the cache)."""
    from pyld import jsonld

    return str(jsonld.to_rdf(copy.deepcopy(document), {"format": "application/n-quads", "documentLoader": loader}))


def test_cached_resolution_gives_the_same_nquads_as_fresh_resolution(world: World) -> None:
    loader = DocumentLoader()
    for credential in world.self_description.all():
        subjects = credential["credentialSubject"]
        document = {
            "@context": credential["@context"],
            "@graph": subjects if isinstance(subjects, list) else [subjects],
        }
        for _ in range(2):  # the second round runs from the cache
            assert to_nquads(document, loader=loader) == _fresh(document, loader)
            assert canonicalize({k: v for k, v in credential.items() if k != "proof"}, loader=loader)


def test_import_in_a_document_cannot_add_terms_to_a_cached_context() -> None:
    loader = DocumentLoader()
    plain = {"@context": [GX], "@id": "urn:x", "@type": "LegalPerson", "evil": "value"}
    assert f"<{GX}evil>" in to_nquads(plain, loader=loader)  # the context is cached now
    importing = {"@context": [{"@import": GX, "evil": "urn:evil#term"}], "@id": "urn:y", "evil": "value"}
    assert "<urn:evil#term>" in to_nquads(importing, loader=loader)
    # pyld writes the importing context's terms into the imported one; the cached gx context must not see them
    for _ in range(2):
        out = to_nquads(plain, loader=loader)
        assert f"<{GX}evil>" in out
        assert "urn:evil#term" not in out
        assert canonicalize(plain, loader=loader) == canonicalize(plain, loader=DocumentLoader())


def test_pinned_contexts_with_import_take_the_fresh_path() -> None:
    loader = DocumentLoader()
    document = {
        "@context": "https://w3id.org/dspace/2025/1/context.jsonld",
        "@id": "urn:msg",
        "@type": "CatalogRequestMessage",
    }
    first = expand(document, loader=loader)
    assert expand(document, loader=loader) == first
    assert to_nquads(document, loader=loader) == _fresh(document, loader)


def test_each_loader_has_its_own_cache(tmp_path: Path) -> None:
    url = "https://contexts.example/v1"
    one, two = tmp_path / "one.jsonld", tmp_path / "two.jsonld"
    one.write_text(json.dumps({"@context": {"name": "https://one.example/name"}}))
    two.write_text(json.dumps({"@context": {"name": "https://two.example/name"}}))
    document = {"@context": url, "@id": "urn:x", "name": "n"}
    assert "https://one.example/name" in to_nquads(document, loader=DocumentLoader({url: one}))
    assert "https://two.example/name" in to_nquads(document, loader=DocumentLoader({url: two}))


def test_a_busy_cache_falls_back_to_fresh_resolution(world: World) -> None:
    loader = DocumentLoader()
    credential = world.self_description.all()[0]
    document = {"@context": credential["@context"], "@graph": [credential["credentialSubject"]]}
    expected = to_nquads(document, loader=loader)
    cache = canonical._context_cache(loader)
    with cache.lock:  # another thread is resolving with the shared resolver
        assert to_nquads(document, loader=loader) == expected
