"""The two schema validators of :mod:`connector.dsp.validation` agree: jsonschema-rs decides, python-jsonschema
explains. Differential over the official examples, one sample of every message type, and crafted violations of
each (members removed, values of the wrong type, at every depth)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from connector.dsp.codec import _type_name
from connector.dsp.validation import SCHEMA_FILES, fast_validator_for, schema_errors, validator_for
from tests.unit.connector.dsp.test_dsp_messages import EXAMPLES, SAMPLES

pytestmark = pytest.mark.unit

WRONG = (None, 42, 1.5, True, "x", "", [], [{}], {}, {"@id": 1})


def _mutations(document: Any, depth: int = 0) -> Iterator[Any]:
    """Copies of ``document`` with one member removed or replaced by a value of another type (recursively)."""
    if depth > 4:
        return
    if isinstance(document, dict):
        for key, value in document.items():
            removed = {k: v for k, v in document.items() if k != key}
            yield removed
            for wrong in WRONG:
                yield {**document, key: copy.deepcopy(wrong)}
            for inner in _mutations(value, depth + 1):
                yield {**document, key: inner}
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield document[:i] + document[i + 1 :]
            for inner in _mutations(value, depth + 1):
                yield [*document[:i], inner, *document[i + 1 :]]


def _documents() -> Iterator[tuple[str, str, Any]]:
    for example in EXAMPLES:
        document = json.loads(example.read_bytes())
        type_name = document.get("@type") or ("VersionResponse" if "protocolVersions" in document else None)
        if type_name in SCHEMA_FILES:
            yield example.name, type_name, document
    for sample in SAMPLES:
        yield type(sample).__name__, _type_name(type(sample)), sample.to_wire()


CASES = list(_documents())


@pytest.mark.parametrize(("name", "type_name", "document"), CASES, ids=[c[0] for c in CASES])
def test_fast_and_explaining_validators_agree(name: str, type_name: str, document: Any) -> None:
    fast, explaining = fast_validator_for(type_name), validator_for(type_name)
    checked = 0
    for variant in [document, *_mutations(document)]:
        assert fast.is_valid(variant) == explaining.is_valid(variant), (name, json.dumps(variant)[:500])
        checked += 1
    assert checked > 10


def test_schema_errors_explain_what_the_fast_validator_refused() -> None:
    document = SAMPLES[7].to_wire()  # ContractRequestMessage
    del document["offer"]
    assert not fast_validator_for("ContractRequestMessage").is_valid(document)
    assert schema_errors(document, "ContractRequestMessage") == [
        "ContractRequestMessage (root): 'offer' is a required property"
    ]


def test_no_remote_reference_is_fetched() -> None:
    # Every $ref resolves in the local registry: building each validator needs no network (offline=True raises).
    for type_name in SCHEMA_FILES:
        assert fast_validator_for(type_name) is not None
