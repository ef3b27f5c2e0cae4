"""Crash consistency: ``kill -9`` either connector (separate ``gxc connector serve`` processes) while negotiations
are in flight, restart it, and check that both sides converge to the same state with no agreement lost or
duplicated (house rule 2: state and outbound intent are committed together; inbound handling is idempotent).

The kill points are seeded (victim and delay after the negotiations started), a handful to stay CI-sized.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.cli.main import GRACEFUL_SHUTDOWN_SECONDS
from connector.settings import load_settings
from tests.e2e.test_foundation_demo import GXC, wait_healthy
from tests.integration.connector.harness import dataspace_pki, make_participant
from tests.integration.connector.test_negotiation_flow import OPEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = 20261126
KILL_POINTS = 4
NEGOTIATIONS_PER_POINT = 6


@dataclass
class Process:
    name: str
    state: Path
    base: str
    api: httpx.Client
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*GXC, "connector", "serve", "--state-dir", str(self.state)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_healthy(self.base + "/health", self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def items(self, path: str) -> list[dict[str, Any]]:
        r = self.api.get(path, params={"limit": 200})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


def participant(root: Path, name: str, pki: Any) -> Process:
    state = make_participant(root, name, pki, outbox_lease_seconds=1.0)
    settings = load_settings(state / "gxc.toml")
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else ""
    api = httpx.Client(base_url=settings.base_url + "/api/management/v1", headers={"X-Api-Key": key}, timeout=30)
    return Process(name, state, settings.base_url, api)


@pytest.fixture
def connectors(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    pki = dataspace_pki()
    provider, consumer = participant(tmp_path, "provider", pki), participant(tmp_path, "consumer", pki)
    try:
        provider.start()
        consumer.start()
        yield provider, consumer
    finally:
        for p in (consumer, provider):
            p.stop()
            p.api.close()


def offer_weather(provider: Process, consumer: Process, tmp: Path) -> str:
    data = tmp / "weather.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    asset = {"id": "weather", "title": "weather", "dataAddress": {"kind": "file", "path": str(data)}}
    assert provider.api.post("/assets", json=asset).status_code == 201
    assert provider.api.post("/policies", json={"id": "open", "policy": OPEN}).status_code == 201
    definition = {"id": "cd", "accessPolicyId": "open", "contractPolicyId": "open", "assetIds": ["weather"]}
    assert provider.api.post("/contract-definitions", json=definition).status_code == 201
    r = consumer.api.post("/catalog/request", json={"counterPartyAddress": provider.base})
    assert r.status_code == 200, r.text
    return str(r.json()["catalog"]["dataset"][0]["hasPolicy"][0]["@id"])


TERMINAL = {"FINALIZED", "TERMINATED"}


def converged(provider: Process, consumer: Process) -> tuple[bool, str]:
    mine = consumer.items("/negotiations")
    theirs = {n["consumerPid"]: n for n in provider.items("/negotiations")}
    for n in mine:
        other = theirs.get(n["consumerPid"])
        if n["state"] not in TERMINAL:
            return False, f"consumer {n['id']} is {n['state']}"
        if other is None:
            if n["state"] != "TERMINATED":
                return False, f"consumer {n['id']} is {n['state']} but the provider never saw it"
            continue
        if other["state"] != n["state"]:
            return False, f"consumer {n['state']} vs provider {other['state']} for {n['consumerPid']}"
    return True, ""


def test_kill_9_either_side_mid_negotiation_converges(connectors: tuple[Process, Process], tmp_path: Path) -> None:
    provider, consumer = connectors
    offer_id = offer_weather(provider, consumer, tmp_path)
    rng = random.Random(SEED)
    for point in range(KILL_POINTS):
        victim = (provider, consumer)[point % 2]
        delay = rng.uniform(0.0, 0.25)
        for _ in range(NEGOTIATIONS_PER_POINT):
            r = consumer.api.post("/negotiations", json={"counterPartyAddress": provider.base, "offerId": offer_id})
            assert r.status_code == 201, r.text
        time.sleep(delay)
        victim.kill()
        victim.start()
        deadline = time.monotonic() + 60
        ok, why = converged(provider, consumer)
        while not ok and time.monotonic() < deadline:
            time.sleep(0.25)
            ok, why = converged(provider, consumer)
        assert ok, f"kill point {point} ({victim.name} after {delay:.3f} s): {why}"

    negotiations = consumer.items("/negotiations")
    assert len(negotiations) == KILL_POINTS * NEGOTIATIONS_PER_POINT
    by_pid = {n["consumerPid"]: n for n in provider.items("/negotiations")}
    finalized = [n for n in negotiations if n["state"] == "FINALIZED"]
    assert finalized, "no negotiation survived: the retries never reached the restarted peer"
    for n in finalized:
        assert by_pid[n["consumerPid"]]["agreementId"] == n["agreementId"]
    expected = sorted(n["agreementId"] for n in finalized)
    # No agreement lost or duplicated, on either side.
    assert sorted(a["id"] for a in consumer.items("/agreements")) == expected
    assert sorted(a["id"] for a in provider.items("/agreements")) == expected


def test_a_stop_does_not_wait_for_calls_that_wait(connectors: tuple[Process, Process], tmp_path: Path) -> None:
    """SIGTERM ends the server within its graceful-shutdown bound even while a management call waits (``?wait=``)
    for a negotiation that cannot finish (its provider is gone)."""
    provider, consumer = connectors
    offer = offer_weather(provider, consumer, tmp_path)
    provider.kill()
    body = {"counterPartyAddress": provider.base, "offerId": offer}
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(consumer.api.post, "/negotiations", json=body, params={"wait": 30})
        time.sleep(1.0)  # the call is in the server now, waiting
        assert not waiting.done()
        assert consumer.proc is not None
        began = time.monotonic()
        consumer.proc.send_signal(signal.SIGTERM)
        consumer.proc.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)
        assert time.monotonic() - began < GRACEFUL_SHUTDOWN_SECONDS + 5
        with contextlib.suppress(httpx.HTTPError):
            waiting.result(timeout=10)  # the server closed it (or answered): either way nobody hangs
