"""Validation against the official DSP 2025-1 JSON schemas shipped in ``connector/dsp/schemas/`` (see its NOTICE).

DSP 2025-1 §common: the normative artefacts are JSON Schemas (draft 2019-09) over the **compacted** form. Every
schema ``$id`` is ``https://w3id.org/dspace/2025/1/<dir>/<file>``; all are registered in one local ``referencing``
registry so no ``$ref`` is ever fetched. Three transfer schemas use the malformed fragment ``#definitions/...``
(dsp.md §7.2): Python's ``referencing`` raises ``InvalidAnchor`` on it, so it is patched to ``#/definitions/...``
while loading (the files stay byte-identical to upstream).

Two validators see the same (patched) schemas: jsonschema-rs decides whether a document is valid (a few microseconds;
the pure-Python validator took about 0.5 ms per message, several times per DSP message exchanged,
bench/negotiation.py), and python-jsonschema explains a failure in words. Both are offline (every ``$ref`` resolves in
the local registry) and neither asserts ``format`` (2019-09: an annotation). Should the two ever disagree, the
explaining validator's verdict stands, so a document is never refused without a reason; a differential test over the
official examples and crafted violations keeps them in step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema_rs
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from connector.dsp.errors import SchemaViolation

# jsonschema is imported with the first validator (validator_for): a process that only serves data never loads it.

SCHEMA_ID_PREFIX = "https://w3id.org/dspace/2025/1/"

#: ``@type`` (or plain-JSON object name) -> schema file relative to ``schemas/``.
SCHEMA_FILES: Mapping[str, str] = {
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "DatasetRequestMessage": "catalog/dataset-request-message-schema.json",
    "Catalog": "catalog/catalog-schema.json",
    "Dataset": "catalog/dataset-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
    "DataAddress": "transfer/data-address-schema.json",
    "VersionResponse": "common/protocol-version-schema.json",
}

#: At most this many schema errors are reported in ``reason`` (a hostile body can produce thousands).
MAX_REPORTED_ERRORS = 10


def _schema_root() -> Traversable:
    return resources.files("connector.dsp").joinpath("schemas")


def _load_schema(relative: str) -> dict[str, Any]:
    text = _schema_root().joinpath(relative).read_text(encoding="utf-8")
    # Upstream defect kept in the files (NOTICE): "#definitions/X" is not a JSON pointer; make it one.
    text = text.replace('"#definitions/', '"#/definitions/').replace(".json#definitions/", ".json#/definitions/")
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise RuntimeError(f"schema {relative} is not a JSON object")
    return schema


@cache
def schema_registry() -> Registry[Any]:
    """Every shipped schema, keyed by its ``$id`` (read-only package data, so loaded once)."""
    registry: Registry[Any] = Registry()
    for schema in _schema_files():
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema, DRAFT201909))
    return registry.crawl()


def _schema_files() -> list[dict[str, Any]]:
    root = _schema_root()
    return [
        _load_schema(f"{directory}/{entry.name}")
        for directory in ("catalog", "negotiation", "transfer", "common")
        for entry in root.joinpath(directory).iterdir()
        if entry.name.endswith("-schema.json")
    ]


@cache
def _fast_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry(
        [(schema["$id"], schema) for schema in _schema_files()], draft=jsonschema_rs.Draft201909
    )


@cache
def fast_validator_for(type_name: str) -> jsonschema_rs.Validator:
    """The jsonschema-rs validator of the official schema for ``type_name`` (offline, formats not asserted)."""
    return jsonschema_rs.Draft201909Validator(
        _load_schema(SCHEMA_FILES[type_name]), registry=_fast_registry(), validate_formats=False, offline=True
    )


@cache
def validator_for(type_name: str) -> Any:
    """The ``Draft201909Validator`` of the official schema for ``type_name`` (``KeyError`` if the spec defines
    none)."""
    from jsonschema import Draft201909Validator  # type: ignore[import-untyped]

    schema = _load_schema(SCHEMA_FILES[type_name])
    return Draft201909Validator(schema, registry=schema_registry())


def schema_errors(document: Mapping[str, Any], type_name: str) -> list[str]:
    """Human-readable schema violations of ``document`` (empty when valid), most specific first."""
    if fast_validator_for(type_name).is_valid(document):
        return []
    validator = validator_for(type_name)
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(e.absolute_path), e.message))
    reasons: list[str] = []
    for error in errors[:MAX_REPORTED_ERRORS]:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        reasons.append(f"{type_name} {where}: {_short(error.message)}")
    if len(errors) > MAX_REPORTED_ERRORS:
        reasons.append(f"... and {len(errors) - MAX_REPORTED_ERRORS} more schema violations")
    return reasons


def validate_document(document: Mapping[str, Any], type_name: str) -> None:
    """Raise :class:`SchemaViolation` unless ``document`` validates against the official schema of ``type_name``."""
    reasons = schema_errors(document, type_name)
    if reasons:
        raise SchemaViolation(reasons)


def _short(message: str, limit: int = 300) -> str:
    # jsonschema echoes the offending instance; a huge instance would make a huge error body.
    return message if len(message) <= limit else message[: limit - 3] + "..."
