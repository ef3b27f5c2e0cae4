"""Inbound parsing: limits, negative cases, JSON-LD forms (EDC, prefixed, expanded) and the pyld traps."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from pyld.context_resolver import ContextResolver

import connector.dsp
from connector.dsp.codec import Limits, decode, parse_any_message, parse_message
from connector.dsp.errors import (
    DspError,
    JsonLdNormalisationFailed,
    MalformedMessage,
    MessageLimitExceeded,
    SchemaViolation,
    UnexpectedMessageType,
)
from connector.dsp.jsonld import normalise, pyld_options
from connector.dsp.negotiation_messages import (
    ContractAgreementMessage,
    ContractNegotiation,
    ContractOfferMessage,
    ContractRequestMessage,
)
from connector.dsp.transfer_messages import TransferRequestMessage, TransferStartMessage
from connector.dsp.wire import DSP_CONTEXT_URL
from self_descriptions.loader import DocumentLoader

pytestmark = pytest.mark.unit

SCHEMAS = Path(connector.dsp.__file__).parent / "schemas"
FIXTURES = Path(__file__).parents[3] / "fixtures" / "dsp"
JSONLD_EXAMPLES = sorted(
    p for p in SCHEMAS.glob("*/example/*.json") if "did-service" not in p.name and "protocol-version" not in p.name
)


def example(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / relative).read_text())
    return document


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


INITIAL_REQUEST = "negotiation/example/contract-request-message_initial.json"
ODRL_PROFILE_URL = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"


# --- negative cases ------------------------------------------------------------------------------------------------


def test_missing_consumer_pid_is_a_schema_violation() -> None:
    body = example(INITIAL_REQUEST)
    del body["consumerPid"]
    with pytest.raises(SchemaViolation) as info:
        parse_message(body, ContractRequestMessage)
    assert info.value.code == "schema-violation"
    assert info.value.status == 400
    assert any("consumerPid" in r for r in info.value.reason)


def test_2024_style_prefixed_state_is_rejected() -> None:
    body = example("negotiation/example/contract-negotiation.json")
    body["state"] = "dspace:REQUESTED"
    with pytest.raises(SchemaViolation, match="dspace:REQUESTED"):
        parse_message(body, ContractNegotiation)


def test_2024_1_message_is_rejected() -> None:
    body = {
        "@context": "https://w3id.org/dspace/2024/1/context.json",
        "@type": "dspace:ContractNegotiation",
        "dspace:providerPid": "urn:uuid:p",
        "dspace:consumerPid": "urn:uuid:c",
        "dspace:state": "dspace:REQUESTED",
    }
    with pytest.raises(DspError) as info:
        parse_message(body, ContractNegotiation)
    assert info.value.status == 400


def test_wrong_type_for_the_endpoint() -> None:
    with pytest.raises(UnexpectedMessageType) as info:
        parse_message(example(INITIAL_REQUEST), ContractOfferMessage)
    assert info.value.code == "unexpected-message-type"
    assert "ContractOfferMessage" in info.value.reason[0]


def test_unknown_type_in_dispatch() -> None:
    body = {"@context": [DSP_CONTEXT_URL], "@type": "ContractWhatever"}
    with pytest.raises(UnexpectedMessageType):
        parse_any_message(body)


def test_both_callback_address_and_provider_pid_violate_one_of() -> None:
    body = example(INITIAL_REQUEST) | {"providerPid": "urn:uuid:p"}
    with pytest.raises(SchemaViolation):
        parse_message(body, ContractRequestMessage)


def test_catalog_offer_with_target_is_rejected() -> None:
    body = example("catalog/example/dataset.json")
    body["hasPolicy"][0]["target"] = "urn:uuid:x"
    with pytest.raises(SchemaViolation):
        parse_any_message(body)


def test_agreement_without_timestamp_pattern_is_rejected() -> None:
    body = example("negotiation/example/contract-agreement-message.json")
    body["agreement"]["timestamp"] = "yesterday"
    with pytest.raises(SchemaViolation, match="timestamp"):
        parse_message(body, ContractAgreementMessage)


def test_oversized_body() -> None:
    body = json.dumps(example(INITIAL_REQUEST)).encode()
    with pytest.raises(MessageLimitExceeded) as info:
        parse_message(body, ContractRequestMessage, limits=Limits(max_body_bytes=len(body) - 1))
    assert info.value.code == "message-limit-exceeded"
    assert info.value.status == 400


def test_deep_nesting_rejected_before_json_decoding() -> None:
    # Far beyond the C decoder's recursion limit: must be refused by the bracket scan, not by a RecursionError.
    body = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(MessageLimitExceeded, match="depth"):
        parse_message(body, ContractRequestMessage)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    body = example(INITIAL_REQUEST)
    body["callbackAddress"] = "https://c/" + "[{" * 500 + '\\"'
    assert parse_message(json.dumps(body).encode(), ContractRequestMessage).callback_address == body["callbackAddress"]


def test_deep_nesting_in_a_decoded_dict() -> None:
    nested: Any = "x"
    for _ in range(40):
        nested = {"n": nested}
    with pytest.raises(MessageLimitExceeded, match="depth"):
        decode({"@type": "X", "deep": nested})


def test_long_array() -> None:
    body = example("catalog/example/catalog-request-message.json")
    body["filter"] = list(range(11))
    with pytest.raises(MessageLimitExceeded, match="array"):
        parse_any_message(json.dumps(body).encode(), limits=Limits(max_array_length=10))


def test_too_many_object_members() -> None:
    with pytest.raises(MessageLimitExceeded, match="members"):
        decode({str(i): i for i in range(20)}, Limits(max_object_members=10))


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"], ids=["syntax", "array", "string", "encoding"]
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedMessage) as info:
        parse_message(body, ContractRequestMessage)
    assert info.value.status == 400


def test_unknown_context_is_refused_without_network() -> None:
    body = example(INITIAL_REQUEST)
    body["@context"] = [DSP_CONTEXT_URL, "https://evil.example/context.jsonld"]
    with pytest.raises(JsonLdNormalisationFailed) as info:
        parse_message(body, ContractRequestMessage)
    assert info.value.code == "context-not-allowed"
    assert "evil.example" in info.value.reason[0]


def test_operator_context_can_be_allowed(tmp_path: Path) -> None:
    extra = tmp_path / "ctx.jsonld"
    extra.write_text(json.dumps({"@context": {"ex": "https://example.org/ns#"}}))
    body = example(INITIAL_REQUEST)
    body["@context"] = [DSP_CONTEXT_URL, "https://example.org/ctx"]
    loader = DocumentLoader(extra={"https://example.org/ctx": extra})
    assert parse_message(body, ContractRequestMessage, loader=loader) == parse_message(
        example(INITIAL_REQUEST), ContractRequestMessage
    )


# --- other JSON-LD forms normalise to the same model -----------------------------------------------------------------


def test_edc_request_with_extra_context_and_edc_offer_id() -> None:
    edc = fixture("edc-contract-request-message.json")
    message = parse_message(json.dumps(edc).encode(), ContractRequestMessage)
    plain = edc | {"@context": [DSP_CONTEXT_URL]}
    assert message == parse_message(plain, ContractRequestMessage)
    assert message.offer["@id"] == "Y29udHJhY3QtZGVm:YXNzZXQtMQ==:YTc4ZjM5OWQ="
    assert message.callback_address == "http://consumer.example/protocol/2025-1/"


def test_prefixed_terms_with_inline_context_normalise_to_the_same_model() -> None:
    prefixed = parse_message(fixture("prefixed-contract-request-message.json"), ContractRequestMessage)
    edc = parse_message(fixture("edc-contract-request-message.json"), ContractRequestMessage)
    assert prefixed == edc


def test_edc_transfer_request_keeps_relative_format() -> None:
    # dsp.md §7.3 pitfall 2: without base=None pyld turns HttpData-PULL into http://example.org/base/HttpData-PULL.
    message = parse_message(fixture("edc-transfer-request-message.json"), TransferRequestMessage)
    assert message.format == "HttpData-PULL"


def test_edc_transfer_start_data_address() -> None:
    message = parse_message(fixture("edc-transfer-start-message.json"), TransferStartMessage)
    assert message.data_address is not None
    assert message.data_address.property("authType") == "bearer"


def test_string_context_is_normalised_into_an_array() -> None:
    # dsp.md §7.3 pitfall 1: pyld writes a one-element @context as a string; schemas need an array.
    body = example(INITIAL_REQUEST) | {"@context": DSP_CONTEXT_URL}
    assert normalise(body, DocumentLoader())["@context"] == [DSP_CONTEXT_URL]
    assert parse_message(body, ContractRequestMessage) == parse_message(
        example(INITIAL_REQUEST), ContractRequestMessage
    )


def _expanded(document: dict[str, Any]) -> list[Any]:
    # Isolated options: pyld's defaults share caches process-wide and would drop terms (see the trap test below).
    result: list[Any] = jsonld.expand(copy.deepcopy(document), pyld_options(DocumentLoader()))
    return result


@pytest.mark.parametrize("path", JSONLD_EXAMPLES, ids=lambda p: p.name)
def test_every_official_example_survives_expansion_and_extra_contexts(path: Path) -> None:
    document = json.loads(path.read_text())
    reference = parse_any_message(document)
    assert parse_any_message(json.dumps(_expanded(document)).encode()) == reference
    with_edc = document | {"@context": [DSP_CONTEXT_URL, "https://w3id.org/edc/dspace/v0.0.1"]}
    assert parse_any_message(with_edc) == reference


def test_warm_cache_sequence_of_every_message_type_twice() -> None:
    """dsp.md addendum: pyld 3.3 caches a processed @import per active context only, so a shared context resolver
    drops ``agreement`` from a ContractAgreementMessage after a ContractOfferMessage. Run every type through the
    slow path in sequence, twice (caches warm), and in reverse; each must normalise to its compact original."""
    documents = [json.loads(p.read_text()) for p in JSONLD_EXAMPLES]
    for sequence in (documents, documents, list(reversed(documents))):
        for document in sequence:
            normalised = normalise(
                document | {"@context": [DSP_CONTEXT_URL, "https://w3id.org/edc/dspace/v0.0.1"]}, DocumentLoader()
            )
            assert normalised == document


def test_offer_then_agreement_keeps_agreement() -> None:
    offer = example("negotiation/example/contract-offer-message.json") | {"@context": DSP_CONTEXT_URL}
    agreement = example("negotiation/example/contract-agreement-message.json")
    parse_message(offer, ContractOfferMessage)
    parsed = parse_message(agreement | {"@context": DSP_CONTEXT_URL}, ContractAgreementMessage)
    assert parsed.agreement == agreement["agreement"]


class _SharingLoader:
    """Hands out the same document object on every load, like a caching loader without copies (test-local)."""

    def __init__(self) -> None:
        pinned = DocumentLoader()
        self.documents = {url: copy.deepcopy(pinned.load(url)) for url in (DSP_CONTEXT_URL, ODRL_PROFILE_URL)}

    def __call__(self, url: str, options: object = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": self.documents[url]}


def test_the_trap_is_real_with_a_sharing_loader() -> None:
    """Documents why pyld only ever sees copies: it merges the importing context into the imported ODRL profile
    document, after which a ContractAgreementMessage compacted after a ContractOfferMessage loses ``agreement``
    (pinned pyld 3.3.0). If pyld fixes this, the test fails and the note in connector/dsp/jsonld.py can go."""
    loader = _SharingLoader()
    pristine = copy.deepcopy(loader.documents[ODRL_PROFILE_URL])
    # A resolver of our own, so pyld's process-wide cache (filled by whoever ran before) cannot mask the effect.
    options = {"documentLoader": loader, "base": None, "contextResolver": ContextResolver({}, loader)}
    context = {"@context": [DSP_CONTEXT_URL]}
    jsonld.compact(example("negotiation/example/contract-offer-message.json"), context, dict(options))
    assert loader.documents[ODRL_PROFILE_URL] != pristine  # the profile now carries the offer message's terms
    agreement = jsonld.compact(example("negotiation/example/contract-agreement-message.json"), context, dict(options))
    assert "agreement" not in agreement


def test_pinned_contexts_are_not_mutated_by_normalisation() -> None:
    loader = DocumentLoader()
    before = copy.deepcopy(
        [loader.load(DSP_CONTEXT_URL), loader.load("https://w3id.org/dspace/2025/1/odrl-profile.jsonld")]
    )
    for path in JSONLD_EXAMPLES:
        normalise(json.loads(path.read_text()) | {"@context": DSP_CONTEXT_URL}, loader)
    assert [loader.load(DSP_CONTEXT_URL), loader.load("https://w3id.org/dspace/2025/1/odrl-profile.jsonld")] == before


def test_fast_path_never_calls_pyld(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("pyld used on the compact fast path")

    monkeypatch.setattr("connector.dsp.codec.normalise", boom)
    for path in JSONLD_EXAMPLES:
        parse_any_message(path.read_bytes())


def test_normalisation_keeps_distinct_iris_distinct() -> None:
    # The DSP ODRL profile defines no left-operand terms: "purpose" and odrl:purpose are different IRIs, and the
    # compact form must say so rather than silently equate them (the policies layer decides what they mean).
    body = fixture("prefixed-contract-request-message.json")
    body["dspace:offer"]["odrl:permission"][0]["odrl:constraint"][0]["odrl:leftOperand"] = {"@id": "odrl:purpose"}
    message = parse_message(body, ContractRequestMessage)
    assert message.offer["permission"][0]["constraint"][0]["leftOperand"] == "odrl:purpose"


def test_normalisation_ignores_a_polluted_process_wide_pyld_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another pyld user in the process (default options) fills pyld's module-level cache with corrupted contexts;
    # the codec must not read it. The cache is swapped for a private one so the pollution stays in this test.
    monkeypatch.setattr(jsonld, "_resolved_context_cache", {})
    context = {"@context": [DSP_CONTEXT_URL]}
    jsonld.compact(
        example("negotiation/example/contract-offer-message.json"),
        context,
        {"documentLoader": _SharingLoader(), "base": None},
    )
    agreement = example("negotiation/example/contract-agreement-message.json")
    parsed = parse_message(agreement | {"@context": DSP_CONTEXT_URL}, ContractAgreementMessage)
    assert parsed.agreement == agreement["agreement"]
