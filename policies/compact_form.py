"""Fast expansion of the compact forms the connector itself emits (ODRL context, DSP 2025-1 context).

pyld's full expansion costs milliseconds per policy; on the negotiation and catalogue paths we see the same two
contexts over and over. For a document whose only ``@context`` is the ODRL context or the DSP 2025-1 context (with
or without its ODRL profile) and that has no embedded ``@context``, this module expands with a term table built
from the *pinned* context documents the injected loader returns (JSON-LD 1.1 Processing §5.1 restricted to what
those contexts use: prefixes, aliases, ``@id`` / ``@vocab`` / literal coercion, ``@list`` objects). Any other
document goes through pyld. ``tests/unit/policies/test_compact_form.py`` proves both paths yield the same model.

The DSP context scopes the ODRL profile to message and Dataset types (``@import`` + ``@propagate``); we union the
profile's terms in, which is what those scoped contexts resolve to for the policy nodes inside the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from policies.vocabulary import DSP_CONTEXT, DSP_ODRL_PROFILE, ODRL_CONTEXT

Loader = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]

_ODRL_URLS = frozenset({ODRL_CONTEXT, "https://www.w3.org/ns/odrl.jsonld"})
_DSP_URLS = frozenset({DSP_CONTEXT, "http://w3id.org/dspace/2025/1/context.jsonld"})
_PROFILE_URLS = frozenset({DSP_ODRL_PROFILE, "http://w3id.org/dspace/2025/1/odrl-profile.jsonld"})
_KEYWORDS = frozenset({"@id", "@type", "@value", "@list", "@language", "@set", "@index"})


class _TermDef:
    __slots__ = ("iri", "type")

    def __init__(self, iri: str, type_: str | None) -> None:
        self.iri = iri
        self.type = type_


class TermTable:
    """Terms of one or more pinned contexts, ready to expand keys and values."""

    def __init__(self, documents: list[Mapping[str, Any]]) -> None:
        raw: dict[str, Any] = {}
        for document in documents:
            context = document.get("@context", {})
            if isinstance(context, Mapping):
                # Terms of type-scoped contexts that import the ODRL profile (DSP messages, Dataset) first, so
                # that ``agreement`` / ``offer`` / ``timestamp`` resolve; top-level definitions win on overlap.
                for definition in context.values():
                    scoped = definition.get("@context") if isinstance(definition, Mapping) else None
                    if isinstance(scoped, Mapping) and "@import" in scoped:
                        raw.update({k: v for k, v in scoped.items() if not k.startswith("@")})
                raw.update(context)
        self._prefixes = {k: v for k, v in raw.items() if isinstance(v, str) and v.endswith(("/", "#"))}
        self.terms: dict[str, _TermDef] = {}
        for term, definition in raw.items():
            if term.startswith("@"):
                continue
            if isinstance(definition, str):
                self.terms[term] = _TermDef(self._compact_iri(definition), None)
            elif isinstance(definition, Mapping) and "@id" in definition:
                type_ = definition.get("@type")
                type_ = self._compact_iri(type_) if isinstance(type_, str) and not type_.startswith("@") else type_
                self.terms[term] = _TermDef(self._compact_iri(str(definition["@id"])), type_)

    def _compact_iri(self, value: str) -> str:
        if value.startswith("@"):
            return value
        prefix, sep, rest = value.partition(":")
        if sep and not rest.startswith("//") and prefix in self._prefixes:
            return self._prefixes[prefix] + rest
        return value

    def iri(self, value: str, *, vocab: bool) -> str:
        """Expand an IRI (JSON-LD 1.1 IRI Expansion): terms only in vocab position; no base resolution."""
        if vocab and value in self.terms and not self.terms[value].iri.startswith("@"):
            return self.terms[value].iri
        return self._compact_iri(value)

    def key(self, key: str) -> tuple[str, _TermDef | None]:
        if key in _KEYWORDS:
            return key, None
        definition = self.terms.get(key)
        if definition is not None:
            return definition.iri, definition
        expanded = self._compact_iri(key)
        return (expanded, None) if ":" in expanded else ("", None)


def _context_urls(context: Any) -> tuple[str, ...] | None:
    if isinstance(context, str):
        return (context,)
    if isinstance(context, list) and all(isinstance(c, str) for c in context):
        return tuple(context)
    return None


def table_for(context: Any, loader: Loader, cache: dict[tuple[str, ...], TermTable]) -> TermTable | None:
    """The term table for a recognised ``@context`` value, or ``None`` when pyld must handle the document."""
    urls = _context_urls(context)
    if not urls:
        return None
    kinds = {
        "odrl" if u in _ODRL_URLS else "dsp" if u in _DSP_URLS else "profile" if u in _PROFILE_URLS else ""
        for u in urls
    }
    if "" in kinds or ("odrl" in kinds and len(kinds) > 1):
        return None
    if urls not in cache:
        documents = [loader(u, {})["document"] for u in urls]
        if "dsp" in kinds and "profile" not in kinds:
            documents.append(loader(DSP_ODRL_PROFILE, {})["document"])
        # The DSP context is @protected and defines the policy classes only in scoped contexts, so the profile's
        # terms go first and the DSP top-level terms (identical where they overlap) after.
        documents.sort(key=lambda d: 0 if "Offer" in d.get("@context", {}) else 1)
        cache[urls] = TermTable(documents)
    return cache[urls]


def _has_nested_context(node: Any, top: bool = True) -> bool:
    if isinstance(node, Mapping):
        if not top and "@context" in node:
            return True
        return any(_has_nested_context(v, False) for k, v in node.items() if k != "@context")
    if isinstance(node, list):
        return any(_has_nested_context(v, False) for v in node)
    return False


def expand_compact(
    document: Mapping[str, Any], loader: Loader, cache: dict[tuple[str, ...], TermTable]
) -> list[Any] | None:
    """Expanded JSON-LD for a recognised compact document, or ``None`` if it needs the full algorithm."""
    table = table_for(document.get("@context"), loader, cache)
    if table is None or _has_nested_context(document):
        return None
    node = _expand_node(document, table)
    return [node] if node else []


def _expand_node(node: Mapping[str, Any], table: TermTable) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@context":
            continue
        iri, definition = table.key(key)
        if not iri:
            continue  # undefined terms are dropped, as JSON-LD expansion does
        if iri == "@id":
            out["@id"] = table.iri(str(value), vocab=False)
        elif iri == "@type":
            values = value if isinstance(value, list) else [value]
            out["@type"] = [table.iri(str(v), vocab=True) for v in values]
        elif iri.startswith("@"):
            out[iri] = value
        else:
            items = _expand_values(value, definition, table)
            if items:
                out.setdefault(iri, []).extend(items)
    return out


def _expand_values(value: Any, definition: _TermDef | None, table: TermTable) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        result: list[Any] = []
        for item in value:
            result.extend(_expand_values(item, definition, table))
        return result
    coercion = definition.type if definition else None
    if isinstance(value, Mapping):
        if "@list" in value:
            inner = value["@list"]
            inner_list = inner if isinstance(inner, list) else [inner]
            return [{"@list": [v for item in inner_list for v in _expand_values(item, definition, table)]}]
        if "@value" in value:
            item = {"@value": value["@value"]}
            if "@type" in value:
                item["@type"] = table.iri(str(value["@type"]), vocab=True)
            if "@language" in value:
                item["@language"] = value["@language"]
            return [item]
        expanded = _expand_node(value, table)
        return [expanded] if expanded or not value else [{}]
    if isinstance(value, str) and coercion in ("@id", "@vocab"):
        return [{"@id": table.iri(value, vocab=coercion == "@vocab")}]
    item2: dict[str, Any] = {"@value": value}
    if isinstance(coercion, str) and not coercion.startswith("@"):
        item2["@type"] = coercion
    return [item2]
