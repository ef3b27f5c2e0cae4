"""Inbound parsing and outbound encoding of DSP 2025-1 messages (sans-IO: bytes or dicts in, models out).

Pipeline of :func:`parse_message` (every failure is a :class:`~connector.dsp.errors.DspError` with status 400):

1. **Limits before parsing** (:class:`Limits`): body bytes, then JSON nesting depth from a bracket scan of the raw
   bytes (so a hostile body never reaches the recursive JSON decoder), then depth, array length and object size of
   the decoded value, before any JSON-LD or schema work.
2. **Form**: a body whose ``@context`` is exactly ``["https://w3id.org/dspace/2025/1/context.jsonld"]`` is the
   normative compact form (DSP 2025-1 §common) and is taken at its word: the fast path, no pyld. Anything else
   (expanded, ``dspace:``-prefixed terms, EDC's extra context, other contexts, a string ``@context``) is JSON-LD and
   normalised through pyld with the pinned offline loader (:mod:`connector.dsp.jsonld`). Consequently a
   2024-style ``"state": "dspace:REQUESTED"`` under the bare 2025-1 context is rejected by the schema, as the spec's
   own tests expect, while a real JSON-LD peer's prefixed terms are accepted.
3. **Type**: ``@type`` must be the one the endpoint expects (``unexpected-message-type``).
4. **Schema**: the official schema for that type (:mod:`connector.dsp.validation`), then the pydantic model.

The plain-JSON ``VersionResponse`` skips step 2.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import ValidationError

from connector.dsp.catalog import (
    Catalog,
    CatalogError,
    CatalogRequestMessage,
    Dataset,
    DatasetRequestMessage,
)
from connector.dsp.errors import (
    MalformedMessage,
    MessageLimitExceeded,
    OutboundMessageInvalid,
    SchemaViolation,
    UnexpectedMessageType,
)
from connector.dsp.jsonld import normalise
from connector.dsp.negotiation_messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiation,
    ContractNegotiationError,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
)
from connector.dsp.transfer_messages import (
    TransferCompletionMessage,
    TransferError,
    TransferProcess,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)
from connector.dsp.validation import schema_errors
from connector.dsp.version import VersionResponse
from connector.dsp.wire import DSP_CONTEXT_URL, DspModel
from self_descriptions.loader import DocumentLoader

M = TypeVar("M", bound=DspModel)

#: Every top-level DSP 2025-1 document, by its ``@type`` (VersionResponse: plain JSON, keyed by class name).
MESSAGE_TYPES: Mapping[str, type[DspModel]] = {
    model.__name__: model
    for model in (
        CatalogRequestMessage,
        DatasetRequestMessage,
        Catalog,
        Dataset,
        CatalogError,
        ContractRequestMessage,
        ContractOfferMessage,
        ContractAgreementMessage,
        ContractAgreementVerificationMessage,
        ContractNegotiationEventMessage,
        ContractNegotiationTerminationMessage,
        ContractNegotiation,
        ContractNegotiationError,
        TransferRequestMessage,
        TransferStartMessage,
        TransferSuspensionMessage,
        TransferCompletionMessage,
        TransferTerminationMessage,
        TransferProcess,
        TransferError,
        VersionResponse,
    )
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits enforced before any parsing work. The defaults fit every real DSP message with a wide
    margin (a catalog page of thousands of datasets) while bounding memory and CPU per request."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_depth: int = 32
    max_array_length: int = 10_000
    max_object_members: int = 1_000


DEFAULT_LIMITS = Limits()

# JSON strings (which may contain brackets) are removed before counting brackets; the two alternatives are disjoint,
# so the pattern runs in linear time.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def parse_message(
    body: bytes | Mapping[str, Any] | list[Any],
    expected_type: type[M],
    *,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> M:
    """Parse an inbound DSP 2025-1 message of ``expected_type`` (e.g. ``ContractRequestMessage``).

    ``body`` is the raw HTTP body or already-decoded JSON. ``loader`` resolves JSON-LD contexts on the slow path
    (default: the pinned contexts only). Raises :class:`~connector.dsp.errors.DspError` subclasses with status 400.
    """
    document = decode(body, limits)
    return _to_model(document, expected_type, loader)


def parse_any_message(
    body: bytes | Mapping[str, Any] | list[Any],
    *,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> DspModel:
    """Parse an inbound DSP 2025-1 document of any type, chosen by its (normalised) ``@type``."""
    document = decode(body, limits)
    if "protocolVersions" in document and "@type" not in document:
        return _to_model(document, VersionResponse, loader)
    compact = _compact_form(document, loader)
    type_name = compact.get("@type")
    model = MESSAGE_TYPES.get(type_name) if isinstance(type_name, str) else None
    if model is None or model is VersionResponse:
        raise UnexpectedMessageType(f"@type {type_name!r} is not a DSP 2025-1 message type")
    return _validated(compact, model)


def encode_message(message: DspModel) -> dict[str, Any]:
    """``message.to_wire()``, checked against the official schema before it leaves this connector.

    A failure is our bug (:class:`~connector.dsp.errors.OutboundMessageInvalid`, status 500), never sent.
    """
    wire = message.to_wire()
    reasons = schema_errors(wire, _type_name(type(message)))
    if reasons:
        raise OutboundMessageInvalid(reasons)
    return wire


def decode(body: bytes | Mapping[str, Any] | list[Any], limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The body as a JSON object, after every limit of ``limits`` was checked."""
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if len(raw) > limits.max_body_bytes:
            raise MessageLimitExceeded(f"body has {len(raw)} bytes; the limit is {limits.max_body_bytes}")
        depth = _bracket_depth(raw)
        if depth > limits.max_depth:
            raise MessageLimitExceeded(f"JSON nesting depth {depth} exceeds the limit of {limits.max_depth}")
        try:
            value: Any = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise MalformedMessage(f"body is not valid JSON: {exc}") from exc
    else:
        value = body
    if isinstance(value, list) and len(value) == 1:
        # Expanded JSON-LD is a one-node array; any other array is not one message.
        value = value[0]
    if not isinstance(value, Mapping):
        raise MalformedMessage(f"a DSP message is a JSON object, not {type(value).__name__}")
    _check_shape(value, limits)
    return dict(value)


def _bracket_depth(raw: bytes) -> int:
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(_BRACKET_STEP[b] for b in brackets), default=0)


def _check_shape(value: Any, limits: Limits) -> None:
    """Iterative walk (no recursion, so no RecursionError on hostile input) over depth and container sizes."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_depth:
            raise MessageLimitExceeded(f"JSON nesting depth exceeds the limit of {limits.max_depth}")
        if isinstance(node, Mapping):
            if len(node) > limits.max_object_members:
                raise MessageLimitExceeded(
                    f"a JSON object has {len(node)} members; the limit is {limits.max_object_members}"
                )
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, Mapping | list))
        elif isinstance(node, list):
            if len(node) > limits.max_array_length:
                raise MessageLimitExceeded(
                    f"a JSON array has {len(node)} items; the limit is {limits.max_array_length}"
                )
            stack.extend((child, depth + 1) for child in node if isinstance(child, Mapping | list))


def _is_compact_2025(document: Mapping[str, Any]) -> bool:
    context = document.get("@context")
    return isinstance(context, list) and len(context) == 1 and context[0] == DSP_CONTEXT_URL


def _compact_form(document: dict[str, Any], loader: DocumentLoader | None) -> dict[str, Any]:
    if _is_compact_2025(document):
        return document
    return normalise(document, loader or DocumentLoader())


def _to_model(document: dict[str, Any], expected_type: type[M], loader: DocumentLoader | None) -> M:
    if not expected_type.jsonld:
        return _validated(document, expected_type)
    compact = _compact_form(document, loader)
    expected = _type_name(expected_type)
    actual = compact.get("@type")
    if actual != expected:
        raise UnexpectedMessageType(f"expected @type {expected!r}, got {actual!r}")
    return _validated(compact, expected_type)


def _validated(compact: dict[str, Any], model: type[M]) -> M:
    type_name = _type_name(model)
    reasons = schema_errors(compact, type_name)
    if reasons:
        raise SchemaViolation(reasons)
    fields = {key: value for key, value in compact.items() if key != "@context"}
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise SchemaViolation(
            [f"{type_name} {'/'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()]
        ) from exc


def _type_name(model: type[DspModel]) -> str:
    field = model.model_fields.get("type_")
    return cast(str, field.default) if field is not None else model.__name__
