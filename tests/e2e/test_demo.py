"""The demo scenario as a user runs it (`gxc demo --json`): separate processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.databases import postgres_databases

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GXC = str(Path(sys.executable).parent / "gxc")
STEPS = [
    "Start trust anchor, catalogue, provider, consumer, backend",
    "Provider registers datasets with template policies",
    "Federation issues the consumer's membership credential",
    "Provider's self-description: signed, certified, admitted",
    "Consumer discovers datasets (catalogue + DSP catalog)",
    "Negotiate A (FINALIZED) and B (TERMINATED with reason)",
    "Consumer pulls A, content digest verified",
    "Provider pushes C to the consumer's inbox",
    "4th pull denied with the reason",
    "Usage ledgers verify on both sides",
]


def run_demo(state: Path, *extra: str) -> dict[str, Any]:
    result = subprocess.run(
        [GXC, "demo", "--json", "--state-dir", str(state), *extra],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    summary = json.loads(result.stdout)
    failed = [s for s in summary["steps"] if not s["ok"]]
    assert result.returncode == (0 if summary["ok"] else 1)
    assert summary["ok"], f"{failed} — logs in {state}"
    return summary


def check(summary: dict[str, Any], state: Path) -> None:
    assert [s["name"] for s in summary["steps"]] == STEPS
    assert all(isinstance(s["seconds"], float) for s in summary["steps"])
    details = {s["name"]: s["detail"] for s in summary["steps"]}
    assert "B TERMINATED: denied" in details[STEPS[5]]
    assert "IndustrialLicenceCredential" in details[STEPS[5]]
    assert "count" in details[STEPS[8]]
    assert summary["bytes"] > 0
    document = json.loads((state / "demo-state.json").read_text())
    for component in ("provider", "consumer", "catalog", "trust"):
        assert {"did", "api_key", "state_dir", "urls"} <= set(document[component])
        assert {"management", "dsp", "dataplane", "console", "openapi"} <= set(document[component]["urls"])


def test_demo_on_sqlite_twice_without_cleanup(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    check(run_demo(state), state)
    check(run_demo(state), state)  # a second run works without clean-up


@pytest.fixture
def demo_databases(postgres_url: str) -> Iterator[str]:
    with postgres_databases(postgres_url, ("provider", "consumer", "catalog"), prefix="gxc_demo") as base:
        yield base + "{component}"


@pytest.mark.postgres
def test_demo_on_postgresql(tmp_path: Path, demo_databases: str) -> None:
    state = tmp_path / "demo"
    check(run_demo(state, "--database-url-template", demo_databases), state)
