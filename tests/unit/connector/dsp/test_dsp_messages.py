"""Every DSP 2025-1 message and object: official examples, model -> wire -> parse round trips, error bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import connector.dsp
from connector.dsp.catalog import (
    Catalog,
    CatalogError,
    CatalogRequestMessage,
    DataService,
    Dataset,
    DatasetRequestMessage,
    Distribution,
)
from connector.dsp.codec import MESSAGE_TYPES, encode_message, parse_any_message, parse_message
from connector.dsp.errors import DspError, InvalidTransition, OutboundMessageInvalid
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
from connector.dsp.states import NegotiationEventType, NegotiationMessageKind, NegotiationState, TransferState
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
from connector.dsp.validation import schema_errors
from connector.dsp.version import ProtocolVersion, VersionAuth, VersionResponse
from connector.dsp.wire import DSP_CONTEXT_URL, DspModel

pytestmark = pytest.mark.unit

SCHEMAS = Path(connector.dsp.__file__).parent / "schemas"
EXAMPLES = sorted(p for p in SCHEMAS.glob("*/example/*.json") if "did-service" not in p.name)

CPID = "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833"
PPID = "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab"
OFFER = {
    "@type": "Offer",
    "@id": "urn:uuid:offer-1",
    "target": "urn:uuid:dataset-1",
    "permission": [
        {"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "x"}]}
    ],
}
AGREEMENT = {
    "@type": "Agreement",
    "@id": "urn:uuid:agreement-1",
    "target": "urn:uuid:dataset-1",
    "assigner": "did:web:provider.example",
    "assignee": "did:web:consumer.example",
    "timestamp": "2025-01-01T00:00:00Z",
    "permission": [{"action": "use"}],
}
ADDRESS = DataAddress(
    endpoint_type="https://w3id.org/idsa/v4.1/HTTP",
    endpoint="https://provider.example/public/",
    endpoint_properties=[
        EndpointProperty(name="authorization", value="t0k"),
        EndpointProperty(name="authType", value="bearer"),
    ],
)
SERVICE = DataService(id="urn:uuid:service-1", endpoint_url="https://provider.example/dsp/2025-1")
DATASET = Dataset(
    id="urn:uuid:dataset-1",
    has_policy=[{"@id": "urn:uuid:offer-1", "@type": "Offer", "permission": [{"action": "use"}]}],
    distribution=[Distribution(format="HttpData-PULL", access_service=SERVICE.id)],
    title="Weather",  # DCAT objects keep extra terms
)

#: One instance of every top-level 2025-1 type, with optional parts filled where they exist.
SAMPLES: list[DspModel] = [
    CatalogRequestMessage(filter=[]),
    CatalogRequestMessage(),
    DatasetRequestMessage(dataset="urn:uuid:dataset-1"),
    Catalog(id="urn:uuid:catalog-1", participant_id="did:web:provider.example", service=[SERVICE], dataset=[DATASET]),
    Catalog(
        id="urn:uuid:catalog-root",
        participant_id="did:web:provider.example",
        catalog=[
            Catalog(
                id="urn:uuid:sub",
                service=[SERVICE],
                distribution=[Distribution(format="Catalog", access_service=SERVICE.id)],
            )
        ],
    ),
    DATASET.model_copy(update={"distribution": [Distribution(format="HttpData-PUSH", access_service=SERVICE)]}),
    CatalogError(code="not-found", reason=["no such dataset"]),
    ContractRequestMessage(consumer_pid=CPID, offer=OFFER, callback_address="https://consumer.example/cb"),
    ContractRequestMessage(consumer_pid=CPID, provider_pid=PPID, offer=OFFER),
    ContractOfferMessage(provider_pid=PPID, offer=OFFER, callback_address="https://provider.example/cb"),
    ContractOfferMessage(provider_pid=PPID, consumer_pid=CPID, offer=OFFER),
    ContractAgreementMessage(provider_pid=PPID, consumer_pid=CPID, agreement=AGREEMENT),
    ContractAgreementVerificationMessage(provider_pid=PPID, consumer_pid=CPID),
    ContractNegotiationEventMessage(provider_pid=PPID, consumer_pid=CPID, event_type=NegotiationEventType.ACCEPTED),
    ContractNegotiationEventMessage(provider_pid=PPID, consumer_pid=CPID, event_type=NegotiationEventType.FINALIZED),
    ContractNegotiationTerminationMessage(provider_pid=PPID, consumer_pid=CPID, code="c", reason=["why"]),
    ContractNegotiationTerminationMessage(provider_pid=PPID, consumer_pid=CPID),
    *[ContractNegotiation(provider_pid=PPID, consumer_pid=CPID, state=s) for s in NegotiationState],
    ContractNegotiationError(provider_pid=PPID, consumer_pid=CPID, code="invalid-transition", reason=["no"]),
    TransferRequestMessage(
        consumer_pid=CPID, agreement_id="urn:uuid:agreement-1", format="HttpData-PULL", callback_address="https://c/cb"
    ),
    TransferRequestMessage(
        consumer_pid=CPID,
        agreement_id="urn:uuid:agreement-1",
        format="HttpData-PUSH",
        callback_address="https://c/cb",
        data_address=ADDRESS,
    ),
    TransferStartMessage(provider_pid=PPID, consumer_pid=CPID, data_address=ADDRESS),
    TransferStartMessage(provider_pid=PPID, consumer_pid=CPID),
    TransferSuspensionMessage(provider_pid=PPID, consumer_pid=CPID, code="policy", reason=["paused"]),
    TransferCompletionMessage(provider_pid=PPID, consumer_pid=CPID),
    TransferTerminationMessage(provider_pid=PPID, consumer_pid=CPID, code="policy", reason=["expired"]),
    *[TransferProcess(provider_pid=PPID, consumer_pid=CPID, state=s) for s in TransferState],
    TransferError(provider_pid=PPID, consumer_pid=CPID, code="x", reason=["y"]),
    VersionResponse(
        protocol_versions=[
            ProtocolVersion(
                version="2025-1",
                path="/dsp/2025-1",
                auth=VersionAuth(protocol="DCP", version="1.0", profile=["vc20-bssl/jwt"]),
            )
        ]
    ),
]


def _id(model: DspModel) -> str:
    return type(model).__name__


def test_samples_cover_every_message_type() -> None:
    assert {type(m).__name__ for m in SAMPLES} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_official_example_validates_parses_and_reencodes_identically(example: Path) -> None:
    raw = example.read_bytes()
    document = json.loads(raw)
    type_name = document.get("@type", "VersionResponse")
    assert schema_errors(document, type_name) == []
    model = parse_any_message(raw)
    assert type(model).__name__ == type_name
    assert parse_message(raw, type(model)) == model
    assert encode_message(model) == document


@pytest.mark.parametrize("model", SAMPLES, ids=_id)
def test_round_trip_model_wire_parse(model: DspModel) -> None:
    wire = encode_message(model)  # also validates against the official schema
    if model.jsonld:
        assert wire["@context"] == [DSP_CONTEXT_URL]
        assert wire["@type"] == type(model).__name__
    else:
        assert "@context" not in wire
    assert parse_message(json.dumps(wire).encode(), type(model)) == model
    assert parse_any_message(wire) == model


def test_wire_uses_bare_spec_terms() -> None:
    wire = ContractRequestMessage(consumer_pid=CPID, offer=OFFER, callback_address="https://c").to_wire()
    assert list(wire) == ["@context", "@type", "consumerPid", "offer", "callbackAddress"]
    assert (
        ContractNegotiation(provider_pid=PPID, consumer_pid=CPID, state=NegotiationState.REQUESTED).to_wire()["state"]
        == "REQUESTED"
    )


def test_models_accept_attribute_and_term_names() -> None:
    by_term = ContractAgreementVerificationMessage.model_validate({"providerPid": PPID, "consumerPid": CPID})
    assert by_term == ContractAgreementVerificationMessage(provider_pid=PPID, consumer_pid=CPID)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ContractRequestMessage(consumer_pid=CPID, offer=OFFER),
        lambda: ContractRequestMessage(consumer_pid=CPID, provider_pid=PPID, offer=OFFER, callback_address="https://c"),
        lambda: ContractOfferMessage(provider_pid=PPID, offer=OFFER),
        lambda: ContractOfferMessage(provider_pid=PPID, consumer_pid=CPID, offer=OFFER, callback_address="https://c"),
    ],
    ids=["request-neither", "request-both", "offer-neither", "offer-both"],
)
def test_one_of_callback_address_or_pid_enforced_by_the_model(build: Any) -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        build()


def test_kinds_of_negotiation_messages() -> None:
    accepted = ContractNegotiationEventMessage(
        provider_pid=PPID, consumer_pid=CPID, event_type=NegotiationEventType.ACCEPTED
    )
    finalized = accepted.model_copy(update={"event_type": NegotiationEventType.FINALIZED})
    assert accepted.kind is NegotiationMessageKind.ACCEPTED
    assert finalized.kind is NegotiationMessageKind.FINALIZED
    assert ContractRequestMessage(consumer_pid=CPID, offer=OFFER, callback_address="x").initial


def test_data_address_property_lookup() -> None:
    assert ADDRESS.property("authorization") == "t0k"
    assert ADDRESS.property("missing") is None


def test_error_bodies_from_errors_validate() -> None:
    error = InvalidTransition("not now")
    negotiation = ContractNegotiationError.from_error(error, provider_pid=PPID, consumer_pid=CPID)
    transfer = TransferError.from_error(error, provider_pid=PPID, consumer_pid=CPID)
    catalog = CatalogError.from_error(DspError(["a", "b"], code="x"))
    assert encode_message(negotiation)["code"] == "invalid-transition"
    assert encode_message(transfer)["reason"] == ["not now"]
    assert encode_message(catalog) == {
        "@context": [DSP_CONTEXT_URL],
        "@type": "CatalogError",
        "code": "x",
        "reason": ["a", "b"],
    }
    assert error.status == 400


def test_error_body_without_pids_is_flagged_outbound() -> None:
    # The schema requires both pids: the HTTP layer must pass what it knows; without them it is our bug.
    with pytest.raises(OutboundMessageInvalid) as info:
        encode_message(ContractNegotiationError.from_error(DspError("x")))
    assert info.value.status == 500


def test_outbound_schema_check_catches_bad_offer() -> None:
    bad = ContractRequestMessage(consumer_pid=CPID, offer={"@id": "o"}, callback_address="https://c")
    with pytest.raises(OutboundMessageInvalid, match="offer"):
        encode_message(bad)
