"""did:web identifiers and DID documents (W3C DID Core 1.0; did:web method specification §3).

A did:web DID encodes an HTTPS location: ``did:web:example.com`` -> ``https://example.com/.well-known/did.json``,
``did:web:example.com:user:alice`` -> ``https://example.com/user/alice/did.json``; a port is percent-encoded
(``did:web:localhost%3A8080``). Gaia-X publishes keys as ``JsonWebKey2020`` verification methods whose
``publicKeyJwk`` carries ``alg`` and ``x5u`` and lists them in ``assertionMethod`` (``shared/reference/gaiax.md``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from self_descriptions.errors import SelfDescriptionError

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"


class DidError(SelfDescriptionError):
    """A DID is malformed, cannot be resolved, or its document is unusable."""

    code = "did-error"


def did_web_from_url(url: str) -> str:
    """The did:web DID for an HTTP(S) base URL (``https://host:port/path`` -> ``did:web:host%3Aport:path``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DidError(f"cannot derive a did:web from {url!r}: an http(s) URL with a host is needed")
    host = parts.hostname
    if parts.port is not None:
        host = f"{host}%3A{parts.port}"
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    if segments and segments[-1] == "did.json":
        segments = segments[:-1]
    if segments == [".well-known"]:
        segments = []
    return ":".join(["did", "web", host, *segments])


def did_web_to_url(did: str, *, scheme: str = "https") -> str:
    """The URL of the DID document of a did:web DID (did:web spec §3.2 Read).

    ``scheme="http"`` is only for development on loopback: real did:web resolution is always HTTPS.
    """
    method_specific = _did_web_method_specific_id(did)
    parts = method_specific.split(":")
    host = unquote(parts[0])
    if not host or "/" in host or "@" in host:
        raise DidError(f"{did!r} has an invalid host")
    path = "/".join(unquote(p) for p in parts[1:])
    if path:
        return f"{scheme}://{host}/{path}/did.json"
    return f"{scheme}://{host}/.well-known/did.json"


def _did_web_method_specific_id(did: str) -> str:
    if not did.startswith("did:web:"):
        raise DidError(f"{did!r} is not a did:web DID")
    method_specific = did[len("did:web:") :].split("#", 1)[0].split("?", 1)[0]
    if not method_specific:
        raise DidError(f"{did!r} has no host")
    return method_specific


@dataclass(frozen=True)
class VerificationKey:
    """One key of a DID document: the fragment of its id, the public JWK (with ``alg``, maybe ``x5u``)."""

    fragment: str
    public_jwk: Mapping[str, Any]
    relationships: Sequence[str] = ("assertionMethod", "authentication", "capabilityInvocation")


@dataclass(frozen=True)
class ServiceEndpoint:
    """A DID document ``service`` entry (e.g. DSP ``CatalogService``, DCP ``CredentialService``)."""

    fragment: str
    type: str
    endpoint: str


@dataclass(frozen=True)
class DidDocument:
    """A parsed DID document with just what verification needs: keys by id and relationships."""

    id: str
    raw: Mapping[str, Any]
    methods: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, expected_id: str | None = None) -> DidDocument:
        did = raw.get("id")
        if not isinstance(did, str):
            raise DidError("DID document has no string 'id'")
        if expected_id is not None and did != expected_id:
            raise DidError(f"DID document id {did!r} is not the DID that was resolved ({expected_id!r})")
        methods: dict[str, Mapping[str, Any]] = {}
        for vm in _as_list(raw.get("verificationMethod")):
            if isinstance(vm, Mapping) and isinstance(vm.get("id"), str):
                methods[_absolute(did, vm["id"])] = vm
        for rel in ("assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"):
            for entry in _as_list(raw.get(rel)):
                if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                    methods.setdefault(_absolute(did, entry["id"]), entry)
        return cls(id=did, raw=raw, methods=methods)

    def method_ids(self, relationship: str) -> list[str]:
        """Absolute ids of the verification methods listed under ``relationship``."""
        out: list[str] = []
        for entry in _as_list(self.raw.get(relationship)):
            if isinstance(entry, str):
                out.append(_absolute(self.id, entry))
            elif isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                out.append(_absolute(self.id, entry["id"]))
        return out

    def public_jwk(self, kid: str, *, relationship: str = "assertionMethod") -> Mapping[str, Any]:
        """The ``publicKeyJwk`` of ``kid`` (absolute or ``#fragment``), which must be listed in ``relationship``."""
        absolute = _absolute(self.id, kid)
        if absolute not in self.method_ids(relationship):
            raise DidError(f"key {absolute!r} is not listed in {relationship} of {self.id}")
        method = self.methods.get(absolute)
        if method is None:
            raise DidError(f"key {absolute!r} is not defined in the DID document of {self.id}")
        key = method.get("publicKeyJwk")
        if not isinstance(key, Mapping):
            raise DidError(f"key {absolute!r} has no publicKeyJwk (only JsonWebKey2020/JsonWebKey keys are supported)")
        return key

    def service(self, type_: str) -> str | None:
        for svc in _as_list(self.raw.get("service")):
            if isinstance(svc, Mapping) and svc.get("type") == type_ and isinstance(svc.get("serviceEndpoint"), str):
                return str(svc["serviceEndpoint"])
        return None


def build_did_document(
    did: str, keys: Iterable[VerificationKey], services: Iterable[ServiceEndpoint] = ()
) -> dict[str, Any]:
    """A DID document with ``JsonWebKey2020`` verification methods (DID Core §5.2, JWS 2020 §2.1)."""
    doc: dict[str, Any] = {"@context": [DID_CONTEXT, JWS_2020_CONTEXT], "id": did, "verificationMethod": []}
    relationships: dict[str, list[str]] = {}
    for key in keys:
        kid = f"{did}#{key.fragment}"
        doc["verificationMethod"].append(
            {"id": kid, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": dict(key.public_jwk)}
        )
        for rel in key.relationships:
            relationships.setdefault(rel, []).append(kid)
    doc.update(relationships)
    svc = [{"id": f"{did}#{s.fragment}", "type": s.type, "serviceEndpoint": s.endpoint} for s in services]
    if svc:
        doc["service"] = svc
    return doc


class DidResolver(Protocol):
    """Resolves a DID to its document; implementations raise :class:`DidError` with the reason on failure."""

    async def resolve(self, did: str) -> DidDocument: ...


class OfflineDidResolver:
    """Resolves DIDs from documents given in memory or read from files (``gxc sd verify --did-document``)."""

    def __init__(self, documents: Iterable[Mapping[str, Any]] = ()) -> None:
        self._docs: dict[str, DidDocument] = {}
        for raw in documents:
            self.add(raw)

    def add(self, raw: Mapping[str, Any]) -> DidDocument:
        doc = DidDocument.parse(raw)
        self._docs[doc.id] = doc
        return doc

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> OfflineDidResolver:
        resolver = cls()
        for path in paths:
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DidError(f"cannot read DID document {path}: {exc}") from exc
            if not isinstance(raw, Mapping):
                raise DidError(f"{path} does not contain a JSON object")
            resolver.add(raw)
        return resolver

    async def resolve(self, did: str) -> DidDocument:
        base = did.split("#", 1)[0]
        doc = self._docs.get(base)
        if doc is None:
            raise DidError(f"unknown DID {base!r}: no DID document was given for it (use --did-document FILE)")
        return doc


def _absolute(did: str, ref: str) -> str:
    return f"{did}{ref}" if ref.startswith("#") else ref


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
