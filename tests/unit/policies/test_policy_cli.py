from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli.policy import app
from tests.fixtures.policies.support import FIXTURES

pytestmark = pytest.mark.unit

runner = CliRunner()
AGREEMENT = str(FIXTURES / "dsp_agreement_message.json")
TURTLE = str(FIXTURES / "typical_agreement.ttl")
REQUEST = str(FIXTURES / "typical_request.json")
WORLD = str(FIXTURES / "typical_world.json")


def test_validate_json_and_turtle() -> None:
    for path in (AGREEMENT, TURTLE):
        result = runner.invoke(app, ["validate", path])
        assert result.exit_code == 0, result.output
        assert "valid Agreement" in result.output


def test_validate_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set", "uid": "urn:x"}')
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_evaluate_permit_json_shape() -> None:
    result = runner.invoke(app, ["evaluate", "--policy", AGREEMENT, "--request", REQUEST, "--world", WORLD, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"decision", "reason", "conflict", "rules"}
    assert data["decision"] == "permit"
    assert data["rules"][0]["type"] == "permission"
    assert [c["satisfaction"] for c in data["rules"][0]["constraints"]] == ["satisfied"] * 3


def test_evaluate_turtle_policy_with_odrl_request_denies_with_reason() -> None:
    request = str(FIXTURES / "odrl_request.json")
    result = runner.invoke(app, ["evaluate", "--policy", TURTLE, "--request", request, "--world", WORLD])
    assert result.exit_code == 1
    assert "purpose isAnyOf" in result.output
    assert "marketing" in result.output


def test_evaluate_w3c_format_and_cg_documents() -> None:
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--policy",
            str(FIXTURES / "cg_c1_policy.json"),
            "--request",
            str(FIXTURES / "cg_c12_request.json"),
            "--world",
            str(FIXTURES / "cg_c12_world.json"),
            "--format",
            "w3c",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["@type"] == "report:PolicyReport"
    assert report["report:ruleReport"][0]["report:activationState"] == {"@id": "report:Active"}


def test_explain_and_templates() -> None:
    result = runner.invoke(app, ["explain", "--policy", AGREEMENT, "--request", REQUEST, "--world", WORLD])
    assert result.exit_code == 0
    assert "permission 1" in result.output
    templates = runner.invoke(app, ["templates"])
    assert templates.exit_code == 0
    assert "membership_required" in templates.output


def test_evaluate_bad_inputs_exit_2(tmp_path: Path) -> None:
    no_time = tmp_path / "world.json"
    no_time.write_text("{}")
    result = runner.invoke(app, ["evaluate", "--policy", AGREEMENT, "--request", REQUEST, "--world", str(no_time)])
    assert result.exit_code == 2
    assert "no evaluation time" in result.output
    missing = runner.invoke(app, ["evaluate", "--policy", str(tmp_path / "nope.json"), "--request", REQUEST])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    fmt = runner.invoke(
        app, ["evaluate", "--policy", AGREEMENT, "--request", REQUEST, "--world", WORLD, "--format", "xml"]
    )
    assert fmt.exit_code == 2
