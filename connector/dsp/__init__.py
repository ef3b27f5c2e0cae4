"""Dataspace Protocol 2025-1 wire layer, sans-IO: messages, transition tables, catalog builders.

Pure (import-linter enforced): stdlib, pydantic, pyld, jsonschema/referencing and ``self_descriptions.loader`` for
the pinned JSON-LD contexts. No HTTP, no sockets, no logging, no clock: the lowest layer of ``connector``.

Public API (what ``services`` and ``api`` call)
-----------------------------------------------

Inbound, per endpoint (``codec``)::

    msg = parse_message(body_bytes, ContractRequestMessage)       # -> ContractRequestMessage, or raises DspError
    any_msg = parse_any_message(body_bytes)                       # dispatch on the normalised @type

  Accepts the 2025-1 compact form (fast path, no pyld) and any other JSON-LD form (expanded, ``dspace:`` prefixes,
  EDC's ``https://w3id.org/edc/dspace/v0.0.1`` context, ...) normalised through pyld with the offline loader
  (``loader=DocumentLoader(extra=...)`` to allow an operator's contexts). Limits (``Limits``: body bytes, depth,
  array length, object members) are checked before any parsing work. Everything is validated against the official
  schema (``validation``) and the model.

Outbound::

    body = encode_message(ContractNegotiation(provider_pid=..., consumer_pid=..., state=NegotiationState.REQUESTED))

  ``model.to_wire()`` gives the compact document (``"@context": [DSP_CONTEXT_URL]``, bare terms);
  ``encode_message`` additionally checks it against the official schema (``OutboundMessageInvalid``, a bug, 500).

Errors (``errors``): every failure is a ``DspError`` with ``code``, ``reason: list[str]`` and ``status`` (400
for limits, malformed bodies, wrong ``@type``, schema violations, invalid transitions, unsupported filters;
``ProcessNotFound`` 404). The HTTP layer answers ``status`` with the protocol's body::

    CatalogError.from_error(exc).to_wire()
    ContractNegotiationError.from_error(exc, provider_pid=..., consumer_pid=...).to_wire()
    TransferError.from_error(exc, provider_pid=..., consumer_pid=...).to_wire()

Messages and objects (``catalog``, ``negotiation_messages``, ``transfer_messages``, ``version``): one pydantic
model per 2025-1 type with the spec's name; attributes snake_case, aliases the JSON-LD terms (construct with either).
ODRL offers and agreements are ``dict`` in the DSP compact form (parse them with ``policies``). Negotiation and
transfer messages have ``.kind`` for the state machines.

State machines (``negotiation``, ``transfer``; names in ``states``)::

    negotiation.next_state(state_or_None, sender=Role.CONSUMER, kind=msg.kind)  # NegotiationState or raises
    transfer.next_state(state_or_None, sender=Role.PROVIDER, kind=msg.kind)     # TransferState or raises
    negotiation.diagram("mermaid" | "plantuml")

  ``sender`` is whoever sent the message. Negotiation terminations are accepted from either side in every
  non-terminal state by default (spec prose); ``strict=True`` applies the spec figure's sender restrictions.

Catalog (``catalog_builder``, ``pagination``)::

    build_catalog(catalog_id=..., participant_id=did, service=DataService(...), datasets=[DatasetEntry(...)])
    build_dataset(entry, service, inline_service=True)           # GET /catalog/datasets/:id
    check_filter(request.filter)                                  # UnsupportedFilter (400) for any filter
    page = page_from_query(query); link_header(request_url, page, total)   # RFC 8288 rel="next"/"previous"

Paths (``paths``): templates for every provider endpoint and consumer callback of the HTTPS bindings,
``paths.fill(template, providerPid=...)`` and ``paths.join(callback_address, path)`` (trailing-slash tolerant).
"""

from connector.dsp.catalog import (
    Catalog,
    CatalogError,
    CatalogRequestMessage,
    DataService,
    Dataset,
    DatasetRequestMessage,
    Distribution,
)
from connector.dsp.codec import Limits, encode_message, parse_any_message, parse_message
from connector.dsp.errors import DspError, InvalidTransition, ProcessNotFound
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
from connector.dsp.states import (
    NegotiationEventType,
    NegotiationMessageKind,
    NegotiationState,
    Role,
    TransferMessageKind,
    TransferState,
)
from connector.dsp.transfer_messages import (
    DataAddress,
    EndpointProperty,
    TransferCompletionMessage,
    TransferError,
    TransferProcess,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)
from connector.dsp.version import ProtocolVersion, VersionAuth, VersionResponse
from connector.dsp.wire import DSP_CONTEXT_URL

__all__ = [
    "DSP_CONTEXT_URL",
    "Catalog",
    "CatalogError",
    "CatalogRequestMessage",
    "ContractAgreementMessage",
    "ContractAgreementVerificationMessage",
    "ContractNegotiation",
    "ContractNegotiationError",
    "ContractNegotiationEventMessage",
    "ContractNegotiationTerminationMessage",
    "ContractOfferMessage",
    "ContractRequestMessage",
    "DataAddress",
    "DataService",
    "Dataset",
    "DatasetRequestMessage",
    "Distribution",
    "DspError",
    "EndpointProperty",
    "InvalidTransition",
    "Limits",
    "NegotiationEventType",
    "NegotiationMessageKind",
    "NegotiationState",
    "ProcessNotFound",
    "ProtocolVersion",
    "Role",
    "TransferCompletionMessage",
    "TransferError",
    "TransferMessageKind",
    "TransferProcess",
    "TransferRequestMessage",
    "TransferStartMessage",
    "TransferState",
    "TransferSuspensionMessage",
    "TransferTerminationMessage",
    "VersionAuth",
    "VersionResponse",
    "encode_message",
    "parse_any_message",
    "parse_message",
]
