"""Discovery entries from what participants publish: Gaia-X self-descriptions and DSP catalogs.

From a verified presentation: one entry per ``gx:ServiceOffering`` and per resource (``gx:VirtualResource``,
``gx:DataResource``, ``gx:DataProduct``), with name, description, keywords, licence and the ODRL policy carried in
``gx:servicePolicy``/``gx:resourcePolicy`` (``build.py``: a JSON text). From a DSP 2025-1 Catalog (§catalog
"Catalog"/"Dataset"): one entry per ``Dataset`` (nested catalogs included), its offers (``hasPolicy``) and
distribution formats. Policy features for facets come from the ODRL constraints (left operands such as
``purpose``, and whether a membership credential is required).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from catalog.model import DatasetRecord

SELF_DESCRIPTION = "self-description"
DSP = "dsp"
_GX = "https://w3id.org/gaia-x/development#"
RESOURCE_TYPES = ("ServiceOffering", "VirtualResource", "DataResource", "DataProduct", "DigitalServiceOffering")
MAX_POLICY_DEPTH = 16


def local_name(value: str) -> str:
    """``gx:ServiceOffering`` / full IRI -> ``ServiceOffering``."""
    for sep in ("#", "/", ":"):
        if sep in value:
            value = value.rsplit(sep, 1)[1]
    return value


def _values(subject: Mapping[str, Any], *names: str) -> list[Any]:
    out: list[Any] = []
    for name in names:
        for key in (name, f"gx:{name}", f"schema:{name}", f"dct:{name}", f"dcterms:{name}", f"dcat:{name}", _GX + name):
            value = subject.get(key)
            if value is None:
                continue
            out.extend(value if isinstance(value, list) else [value])
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("@value", value.get("@id"))
    return value if isinstance(value, str) else None


def _first_text(subject: Mapping[str, Any], *names: str) -> str | None:
    return next((t for t in (_text(v) for v in _values(subject, *names)) if t), None)


def _texts(subject: Mapping[str, Any], *names: str) -> list[str]:
    return list(dict.fromkeys(t for t in (_text(v) for v in _values(subject, *names)) if t))


def _policy_documents(subject: Mapping[str, Any]) -> list[dict[str, Any]]:
    policies: list[dict[str, Any]] = []
    for value in _values(subject, "servicePolicy", "resourcePolicy", "policy", "hasPolicy"):
        candidate = value
        if isinstance(value, Mapping) and not _is_odrl(value):
            candidate = next(iter(_values(value, "policyDocument")), None)
        if isinstance(candidate, str):
            try:
                candidate = json.loads(candidate)
            except ValueError:
                continue
        if isinstance(candidate, Mapping) and _is_odrl(candidate):
            policies.append(dict(candidate))
    return policies


def _is_odrl(value: Mapping[str, Any]) -> bool:
    return any(k in value for k in ("permission", "prohibition", "obligation", "odrl:permission"))


def policy_features(policies: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Facet values of ODRL policies: constrained left operands, purposes, whether membership is required."""
    operands: set[str] = set()
    purposes: set[str] = set()
    stack: list[tuple[Any, int]] = [(p, 0) for p in policies]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_POLICY_DEPTH:
            continue
        if isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, Mapping):
            left = value.get("leftOperand", value.get("odrl:leftOperand"))
            name = local_name(_text(left) or "") if left is not None else ""
            if name:
                operands.add(name)
                right = value.get("rightOperand", value.get("odrl:rightOperand"))
                if name.lower() == "purpose":
                    for item in right if isinstance(right, list) else [right]:
                        text = _text(item)
                        if text:
                            purposes.add(local_name(text) if text.startswith("http") else text)
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, list | dict))
    return {
        "constraints": sorted(operands),
        "purposes": sorted(purposes),
        "membershipRequired": any("membership" in o.lower() for o in operands),
    }


def participant_name(documents: Iterable[Mapping[str, Any]]) -> str | None:
    for document in documents:
        for subject in _subjects(document):
            if "LegalPerson" in {local_name(t) for t in _types(subject)} | {local_name(t) for t in _types(document)}:
                name = _first_text(subject, "name", "legalName")
                if name:
                    return name
    return None


def from_credentials(
    participant: str, documents: Iterable[Mapping[str, Any]], *, provider_name: str | None, origin: str
) -> list[DatasetRecord]:
    """One entry per offering/resource credential subject of a verified presentation."""
    records: dict[str, DatasetRecord] = {}
    for document in documents:
        vc_types = {local_name(t) for t in _types(document)}
        for subject in _subjects(document):
            types = [t for t in ({local_name(x) for x in _types(subject)} | vc_types) if t in RESOURCE_TYPES]
            subject_id = _text(subject.get("id", subject.get("@id"))) or _text(document.get("id"))
            if not types or not subject_id:
                continue
            policies = _policy_documents(subject)
            data = {
                "id": subject_id,
                "participant": participant,
                "providerName": provider_name,
                "source": SELF_DESCRIPTION,
                "type": sorted(types),
                "title": _first_text(subject, "name", "title"),
                "description": _first_text(subject, "description"),
                "keywords": _texts(subject, "keyword", "keywords"),
                "formats": _texts(subject, "format", "formatType", "mediaType"),
                "license": _first_text(subject, "license"),
                "credential": _text(document.get("id")),
                "policies": policies,
                "origin": origin,
                **policy_features(policies),
            }
            records[subject_id] = DatasetRecord(participant, SELF_DESCRIPTION, subject_id, data)
    return list(records.values())


def from_dsp_catalog(
    participant: str, catalog: Mapping[str, Any], *, provider_name: str | None, endpoint: str, origin: str
) -> list[DatasetRecord]:
    """One entry per ``Dataset`` of a DSP catalog (and of its nested catalogs)."""
    records: dict[str, DatasetRecord] = {}
    stack: list[tuple[Mapping[str, Any], int]] = [(catalog, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > 4:
            continue
        for nested in _list(current.get("catalog", current.get("dcat:catalog"))):
            if isinstance(nested, Mapping):
                stack.append((nested, depth + 1))
        for dataset in _list(current.get("dataset", current.get("dcat:dataset"))):
            if not isinstance(dataset, Mapping) or not isinstance(dataset.get("@id"), str):
                continue
            offers = [
                dict(o)
                for o in _list(dataset.get("hasPolicy", dataset.get("odrl:hasPolicy")))
                if isinstance(o, Mapping)
            ]
            formats = [
                f
                for d in _list(dataset.get("distribution", dataset.get("dcat:distribution")))
                if isinstance(d, Mapping)
                for f in [_text(d.get("format", d.get("dct:format", d.get("dcterms:format"))))]
                if f
            ]
            data = {
                "id": dataset["@id"],
                "participant": participant,
                "providerName": provider_name,
                "source": DSP,
                "type": ["Dataset"],
                "title": _first_text(dataset, "title"),
                "description": _first_text(dataset, "description"),
                "keywords": _texts(dataset, "keyword"),
                "formats": sorted(set(formats)),
                "license": _first_text(dataset, "license"),
                "credential": None,
                "policies": offers,
                "endpoint": endpoint,
                "origin": origin,
                **policy_features(offers),
            }
            records[dataset["@id"]] = DatasetRecord(participant, DSP, dataset["@id"], data)
    return list(records.values())


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _types(value: Mapping[str, Any]) -> list[str]:
    return [t for t in _list(value.get("type", value.get("@type"))) if isinstance(t, str)]


def _subjects(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _list(document.get("credentialSubject")) if isinstance(s, Mapping)]
