"""The people's commands without a connector: policy specs, usage errors (exit 2), the TCK properties file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from connector.cli.offers import policy_from

pytestmark = pytest.mark.unit

runner = CliRunner()

# The keys of eclipse-dataspacetck/dsp-tck v1.0.1 config/tck/sample.tck.properties (the per-test seeds).
SAMPLE_SEED_KEYS = (
    [
        f"CN_0{g}_0{n}_{k}"
        for g, last in ((1, 4), (2, 7), (3, 4))
        for n in range(1, last + 1)
        for k in ("DATASETID", "OFFERID")
    ]
    + [f"CN_C_0{g}_0{n}_DATASETID" for g, last in ((1, 4), (2, 6), (3, 6)) for n in range(1, last + 1)]
    + [
        f"TP_0{g}_0{n}_{k}"
        for g, last in ((1, 5), (2, 5), (3, 6))
        for n in range(1, last + 1)
        for k in ("AGREEMENTID", "FORMAT")
    ]
    + [
        f"TP_C_0{g}_0{n}_{k}"
        for g, last in ((1, 5), (2, 5), (3, 6))
        for n in range(1, last + 1)
        for k in ("AGREEMENTID", "FORMAT")
    ]
    + ["CAT_01_01_DATASETID", "CAT_01_02_DATASETID", "CAT_01_03_DATASETID"]
)


def test_policy_from_templates_combines_constraints() -> None:
    policy = policy_from(["membership_required=urn:dataspace:test", "purpose_in=research,education"], uid="urn:p")
    text = str(policy)
    assert "urn:dataspace:test" in text
    assert "research" in text
    assert "education" in text
    assert policy["uid"] == "urn:p"


def test_policy_from_open_and_file(tmp_path: Path) -> None:
    assert policy_from(["open"], uid="urn:o")["permission"] == [{"action": "use"}]
    file = tmp_path / "p.json"
    file.write_text('{"@type": "Set", "permission": [{"action": "use"}]}', encoding="utf-8")
    assert policy_from([str(file)], uid="urn:f")["@type"] == "Set"


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["nosuch=1"], "unknown policy template"),
        (["at_most_uses=many"], "at_most_uses"),
        (["gaiax_compliant=yes"], "takes no argument"),
        (["missing-file.json"], "neither a policy file nor a template"),
    ],
)
def test_policy_from_refuses_with_reason(specs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        policy_from(specs, uid="urn:x")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    args = ["--url", "http://127.0.0.1:9", "--api-key", "k"]
    result = runner.invoke(app, ["asset", "add", "x", "--title", "t", *args])
    assert result.exit_code == 2
    assert "exactly one of --file" in result.stderr
    result = runner.invoke(app, ["offer", "add", "x", "--policy", "nosuch=1", *args])
    assert result.exit_code == 2
    assert "unknown policy template" in result.stderr
    result = runner.invoke(app, ["transfer", "agreement-1", "--push", "ftp://x", *args])
    assert result.exit_code == 2
    result = runner.invoke(app, ["negotiate"])  # missing arguments: typer's own usage error
    assert result.exit_code == 2


def test_no_connector_given_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GXC_URL", raising=False)
    result = runner.invoke(app, ["asset", "list"])
    assert result.exit_code == 2
    assert "no connector given" in result.stderr


def test_unreachable_connector_is_one_line_exit_1() -> None:
    result = runner.invoke(app, ["agreements", "--url", "http://127.0.0.1:9", "--api-key", "k"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot reach the management API at http://127.0.0.1:9/api/management/v1")


def test_tck_properties_has_every_sample_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["connector", "tck-properties", "--host", "127.0.0.1", "--port", "8282"])
    assert result.exit_code == 0, result.output
    props = dict(line.split("=", 1) for line in result.stdout.splitlines() if line and not line.startswith("#"))
    assert props["dataspacetck.dsp.connector.agent.id"] == "did:web:127.0.0.1%3A8282"
    assert props["dataspacetck.dsp.connector.http.url"] == "http://127.0.0.1:8282/dsp/2025-1"
    assert props["dataspacetck.dsp.connector.http.base.url"] == "http://127.0.0.1:8282"
    assert (
        props["dataspacetck.dsp.connector.negotiation.initiate.url"]
        == "http://127.0.0.1:8282/tck/negotiations/requests"
    )
    assert props["dataspacetck.dsp.connector.transfer.initiate.url"] == "http://127.0.0.1:8282/tck/transfers/requests"
    assert '"region"' in props["dataspacetck.dsp.connector.http.headers.authorization"]
    assert set(SAMPLE_SEED_KEYS) <= set(props)
    assert props["CN_01_01_OFFERID"] == "CD123:ACN0101:456"
    assert props["TP_C_02_05_AGREEMENTID"] == "ATPC0205"
    assert props["CAT_01_03_DATASETID"] == "CAT0103"
    assert all(re.fullmatch(r"HttpData-PULL", v) for k, v in props.items() if k.endswith("_FORMAT"))
