"""The offline JSON-LD loader: pinned contexts resolve, anything else is refused without opening a socket."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, NoReturn

import pytest
from pyld import jsonld

from self_descriptions.errors import ContextNotAllowed, SelfDescriptionError
from self_descriptions.loader import DocumentLoader, pinned_context_urls

pytestmark = pytest.mark.unit

REQUIRED = [
    "https://www.w3.org/2018/credentials/v1",
    "https://www.w3.org/ns/credentials/v2",
    "https://w3id.org/security/suites/jws-2020/v1",
    "https://www.w3.org/ns/did/v1",
    "http://www.w3.org/ns/odrl.jsonld",
    "https://w3id.org/dspace/2025/1/context.jsonld",
    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
    "https://w3id.org/edc/dspace/v0.0.1",
    "https://registry.lab.gaia-x.eu/development/api/trusted-shape-registry/v1/shapes/jsonld/trustframework#",
    "https://w3id.org/gaia-x/development#",
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make any attempt to open a connection fail loudly and be recorded."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.mark.parametrize("url", REQUIRED)
def test_required_contexts_are_pinned(url: str, no_network: list[Any]) -> None:
    loader = DocumentLoader()
    assert loader.allowed(url)
    document = loader(url)["document"]
    assert "@context" in document
    assert url in pinned_context_urls()
    assert no_network == []


def test_remote_context_is_refused_without_a_socket(no_network: list[Any]) -> None:
    loader = DocumentLoader()
    with pytest.raises(ContextNotAllowed, match="never fetched from the network"):
        loader.load("https://evil.example.com/context.jsonld")
    assert no_network == []


def test_pyld_expansion_with_unknown_context_fails_offline(no_network: list[Any]) -> None:
    doc = {"@context": "https://evil.example.com/context.jsonld", "name": "x"}
    with pytest.raises(jsonld.JsonLdError) as info:
        jsonld.expand(doc, {"documentLoader": DocumentLoader()})
    chain = []
    exc: BaseException | None = info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or getattr(exc, "cause", None)
    assert any(isinstance(e, ContextNotAllowed) for e in chain) or "not pinned" in str(info.value)
    assert no_network == []


def test_pyld_expands_a_credential_with_pinned_contexts(no_network: list[Any]) -> None:
    vc = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:example.com",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:web:example.com#subject"},
    }
    expanded = jsonld.expand(vc, {"documentLoader": DocumentLoader()})
    assert expanded[0]["@type"] == ["https://www.w3.org/2018/credentials#VerifiableCredential"]
    assert no_network == []


def test_operator_mapped_context(tmp_path: Path, no_network: list[Any]) -> None:
    ctx = tmp_path / "mine.jsonld"
    ctx.write_text(json.dumps({"@context": {"ex": "https://example.com/ns#"}}), encoding="utf-8")
    loader = DocumentLoader({"https://example.com/mine.jsonld": ctx})
    assert loader.load("https://example.com/mine.jsonld")["@context"]["ex"] == "https://example.com/ns#"


def test_operator_mapped_context_must_be_a_context(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonld"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SelfDescriptionError, match="no top-level @context"):
        DocumentLoader({"https://example.com/bad.jsonld": bad})
