"""Crash consistency at many seeded kill points (issue 9 §2): both connectors run as separate ``gxc connector
serve`` processes and die by SIGKILL, over and over, while negotiations, transfers and pulls are in flight:

- **timer** kills: a seeded delay after a burst of work, either process;
- **after-commit** kills: a process started with ``GXC_FAULT_KILL_AFTER_COMMIT=<p>:<seed>``
  (:mod:`connector.store.faults`) kills itself right after a database commit, before the HTTP answer, the ACK
  handling or the stream that was to follow (also during its own recovery after a restart);
- **mid-stream** kills: the provider dies while a pull is streaming (the client has read the first chunk), or the
  consumer dies while it proxies a pull through its management API.

Every death is restarted at once (forked from a pre-imported parent, so a restart takes a fraction of a second and
a hundred of them fit in CI). At the end both sides must converge: every negotiation and transfer in the same state
on both sides, the same agreements on both sides with none lost or duplicated, both usage ledgers verify, and the
provider's use counter never under-counts: each counted access saw every earlier permitted use of its agreement
(except uses released because they delivered nothing), and every pull the client saw data from is counted.

CI runs :data:`KILL_POINTS` points; ``bench/crash_soak.py`` runs the same engine for longer. ``GXC_CRASH_SEED``
replays a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from connector.settings import load_settings
from connector.store.faults import KILL_AFTER_COMMIT
from tests.e2e.databases import postgres_databases
from tests.integration.connector.harness import Running, dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, agree, offer, running, start
from tests.integration.dataplane.test_enforcement import wait_state

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = int(os.environ.get("GXC_CRASH_SEED", "20261126"))
KILL_POINTS = 100
#: CI-sized PostgreSQL run (the SQLite run has the hundred; bench/crash_soak.py --postgres runs more)
POSTGRES_KILL_POINTS = 50
BIG = 4 * 1024 * 1024
OPEN = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:open",
    "permission": [{"action": "use"}],
}

#: The parent of the connector processes: imports everything once, then forks a ``gxc connector serve`` (the CLI's
#: own ``_serve``) per line read from stdin and prints the child's pid. Children are reaped automatically.
ZYGOTE = r"""
import importlib, json, os, signal, sys, traceback
from pathlib import Path
import uvicorn
import connector.app
cli = importlib.import_module("connector.cli.main")
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        try:
            cli._serve(cli._settings(None, Path(request["state"])))
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(0)
    print(pid, flush=True)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Zygote:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def fork(self, state: Path, env: dict[str, str]) -> int:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps({"state": str(state), "env": env, "log": str(state / "crash.log")}) + "\n")
        stdin.flush()
        return int(stdout.readline())

    def close(self) -> None:
        streams: list[IO[str] | None] = [self.proc.stdin, self.proc.stdout]
        for stream in streams:
            if stream is not None:
                stream.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Node:
    """One connector: its state folder, URLs, management client and the running process (if any)."""

    name: str
    state: Path
    base: str
    api: httpx.Client
    zygote: Zygote
    pid: int | None = None
    armed: bool = False
    deaths: int = 0

    def start(self, rng: random.Random, *, arm: float = 0.0) -> None:
        """Start; with probability ``arm`` the process kills itself after some commit (p per commit 0.1..0.3)."""
        while True:
            self.armed = rng.random() < arm
            env = {KILL_AFTER_COMMIT: f"{rng.uniform(0.1, 0.3):.3f}:{rng.randrange(2**31)}"} if self.armed else {}
            self.pid = self.zygote.fork(self.state, env)
            if self.wait_healthy():
                return
            self.deaths += 1  # died in its own recovery (an after-commit kill while starting): restart again

    def wait_healthy(self) -> bool:
        assert self.pid is not None
        for _ in range(3000):
            if not alive(self.pid):
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return True
            time.sleep(0.01)
        raise AssertionError(f"{self.name} did not become healthy; see {self.state / 'crash.log'}")

    def kill(self) -> None:
        if self.pid is not None and alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        self.wait_dead()

    def wait_dead(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pid is not None and alive(self.pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} ({self.pid}) survived SIGKILL")
            time.sleep(0.005)

    def stop(self) -> None:
        if self.pid is not None and alive(self.pid):
            os.kill(self.pid, signal.SIGINT)
            deadline = time.monotonic() + 10
            while alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
                self.wait_dead()
        self.pid = None

    def dead(self) -> bool:
        return self.pid is None or not alive(self.pid)

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            r = self.api.get(path, params={"limit": 200, "offset": offset, **params})
            assert r.status_code == 200, r.text
            page = r.json()["items"]
            out += page
            if len(page) < 200:
                return out
            offset += 200

    def ledger(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after = 0
        while True:
            r = self.api.get("/ledger", params={"after": after, "limit": 200})
            assert r.status_code == 200, r.text
            page = r.json()["items"]
            out += page
            if len(page) < 200:
                return out
            after = page[-1]["seq"]


@dataclass
class Report:
    kill_points: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    negotiations: Counter[str] = field(default_factory=Counter)
    transfers: Counter[str] = field(default_factory=Counter)
    agreements: int = 0
    #: agreements voided by a termination after AGREED, per side and termination code
    void_agreements: Counter[str] = field(default_factory=Counter)
    #: why negotiations ended TERMINATED (consumer side): code and reason
    terminations: Counter[str] = field(default_factory=Counter)
    counted_uses: int = 0
    observed_uses: int = 0
    #: kills while the client held part of a streamed body
    mid_stream: int = 0
    seconds: float = 0.0


@dataclass
class Space:
    root: Path
    provider: Node
    consumer: Node
    rng: random.Random
    report: Report = field(default_factory=Report)
    offer: dict[str, str] = field(default_factory=dict)
    #: STARTED transfers (consumer view) per asset, for pulls
    pulls: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: transfers started by the bursts (consumer ids), to be completed or terminated later
    started: list[str] = field(default_factory=list)
    #: pulls the client received data from (completely, or partly before a mid-stream kill), per agreement
    observed: Counter[str] = field(default_factory=Counter)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))


def node(root: Path, name: str, pki: Any, zygote: Zygote, database_url: str | None = None) -> Node:
    config: dict[str, Any] = {"outbox_lease_seconds": 1.0}
    if database_url:
        config["database_url"] = database_url
    state = make_participant(root, name, pki, **config)
    settings = load_settings(state / "gxc.toml")
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else ""
    api = httpx.Client(base_url=settings.base_url + "/api/management/v1", headers={"X-Api-Key": key}, timeout=30)
    return Node(name, state, settings.base_url, api, zygote)


@contextlib.contextmanager
def crash_space(root: Path, seed: int, databases: Mapping[str, str] | None = None) -> Iterator[Space]:
    """Two connectors on SQLite files, or on the PostgreSQL databases given per name (provider, consumer)."""
    pki = dataspace_pki()
    zygote = Zygote()
    nodes: list[Node] = []
    space: Space | None = None
    urls = databases or {}
    try:
        provider = node(root, "provider", pki, zygote, urls.get("provider"))
        consumer = node(root, "consumer", pki, zygote, urls.get("consumer"))
        nodes = [provider, consumer]
        rng = random.Random(seed)
        provider.start(rng)
        consumer.start(rng)
        space = Space(root, provider, consumer, rng)
        prepare(space)
        yield space
    finally:
        for n in nodes:
            n.stop()
            n.api.close()
        if space is not None:
            space.http.close()
        zygote.close()


def prepare(s: Space) -> None:
    p, c = s.provider, s.consumer
    for asset, size in (("weather", 64), ("big", BIG)):
        data = s.root / f"{asset}.bin"
        data.write_bytes((bytes(range(256)) * (size // 256 + 1))[:size])
        body = {"id": asset, "title": asset, "dataAddress": {"kind": "file", "path": str(data)}}
        assert p.api.post("/assets", json=body).status_code == 201
    assert p.api.post("/policies", json={"id": "open", "policy": OPEN}).status_code == 201
    definition = {"id": "cd", "accessPolicyId": "open", "contractPolicyId": "open", "assetIds": ["weather", "big"]}
    assert p.api.post("/contract-definitions", json=definition).status_code == 201
    r = c.api.post("/catalog/request", json={"counterPartyAddress": p.base})
    assert r.status_code == 200, r.text
    s.offer = {d["@id"]: d["hasPolicy"][0]["@id"] for d in r.json()["catalog"]["dataset"]}
    for asset in ("weather", "big"):
        r = c.api.post(
            "/negotiations", json={"counterPartyAddress": p.base, "offerId": s.offer[asset]}, params={"wait": 30}
        )
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "FINALIZED", r.text
        t = c.api.post("/transfers", json={"agreementId": r.json()["agreementId"]}, params={"wait": 30})
        assert t.status_code == 201, t.text
        assert t.json()["state"] == "STARTED", t.text
        s.pulls[asset] = t.json()


def endpoint(transfer: dict[str, Any]) -> tuple[str, dict[str, str]]:
    address = transfer["dataAddress"]
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    return address["endpoint"], {"Authorization": f"Bearer {props['authorization']}"}


def burst(s: Space) -> None:
    """Work in flight when the kill comes; any answer (or none: the process may be dying) is fine."""
    c, p = s.consumer, s.provider
    with contextlib.suppress(httpx.HTTPError):
        for _ in range(s.rng.randint(1, 2)):
            c.api.post("/negotiations", json={"counterPartyAddress": p.base, "offerId": s.offer["weather"]})
        r = c.api.post("/transfers", json={"agreementId": s.pulls["weather"]["agreementId"]})
        if r.status_code == 201:
            s.started.append(r.json()["id"])
        if s.started and s.rng.random() < 0.5:  # an earlier one ends (completion or termination by the consumer)
            action = s.rng.choice(["complete", "terminate"])
            c.api.post(f"/transfers/{s.started.pop(0)}/{action}", json={"reason": "crash test"})
        pull(s, "weather")


def pull(s: Space, asset: str) -> None:
    """Pull to the end; a pull the client received completely is a use the provider must have counted."""
    url, headers = endpoint(s.pulls[asset])
    r = s.http.get(url, headers=headers)
    if r.status_code == 200 and len(r.content) == (64 if asset == "weather" else BIG):
        s.observed[s.pulls[asset]["agreementId"]] += 1


def kill_mid_stream(s: Space, victim: Node) -> None:
    """Start streaming the big asset (from the provider, or through the consumer's management API) and kill
    ``victim`` once the client holds the first bytes."""
    transfer = s.pulls["big"]
    with contextlib.suppress(httpx.HTTPError):
        if victim is s.provider:
            url, headers = endpoint(transfer)
            stream = s.http.stream("GET", url, headers=headers)
        else:
            stream = s.consumer.api.stream("GET", f"/transfers/{transfer['id']}/data")
        with stream as r:
            if r.status_code == 200:
                for chunk in r.iter_bytes():
                    if chunk:
                        s.report.mid_stream += 1
                        s.observed[transfer["agreementId"]] += 1  # data left: a use, even if never completed
                        break
            victim.kill()
    victim.kill()


def run_kill_points(s: Space, kill_points: int, *, arm: float = 0.35) -> Report:
    """Kill ``kill_points`` times; every death (ours or a self-kill after a commit) counts and is restarted."""
    rng, report = s.rng, s.report
    started = time.monotonic()
    while report.kill_points < kill_points:
        victim = s.provider if rng.random() < 0.5 else s.consumer
        kind = rng.choices(["timer", "commit", "stream"], weights=[4, 4, 2])[0]
        if kind == "stream":
            kill_mid_stream(s, victim)
        else:
            burst(s)
            if kind == "commit" and victim.armed:
                # let it die of its own hook on a commit; if no commit drew the kill, fall back to the timer
                deadline = time.monotonic() + 0.5
                while not victim.dead() and time.monotonic() < deadline:
                    burst(s)
                kind = "commit" if victim.dead() else "timer"
            time.sleep(rng.uniform(0.0, 0.15))
            victim.kill()
        for n in (s.provider, s.consumer):
            if n.dead():
                report.kill_points += 1
                report.kinds[f"{kind if n is victim else 'commit'}-{n.name}"] += 1
                n.start(rng, arm=arm)
        for n in (s.provider, s.consumer):
            if n.deaths:
                report.kill_points += n.deaths
                report.kinds[f"commit-during-recovery-{n.name}"] += n.deaths
                n.deaths = 0
    report.seconds = time.monotonic() - started
    return report


TERMINAL_NEGOTIATION = {"FINALIZED", "TERMINATED"}


def converged(s: Space) -> tuple[bool, str]:
    p, c = s.provider, s.consumer
    mine = c.items("/negotiations")
    theirs = {n["consumerPid"]: n for n in p.items("/negotiations")}
    for n in mine:
        other = theirs.get(n["consumerPid"])
        if n["state"] not in TERMINAL_NEGOTIATION:
            return False, f"consumer negotiation {n['id']} is {n['state']}"
        if other is None:
            if n["state"] != "TERMINATED":
                return False, f"consumer {n['id']} is {n['state']} but the provider never saw it"
            continue
        if other["state"] != n["state"]:
            return False, f"negotiation {n['consumerPid']}: consumer {n['state']}, provider {other['state']}"
    known = {n["consumerPid"] for n in mine}
    orphans = [pid for pid in theirs if pid not in known]
    if orphans:
        return False, f"the provider has negotiations the consumer does not know: {orphans[:3]}"
    transfers = {t["consumerPid"]: t for t in p.items("/transfers")}
    mine_t = c.items("/transfers")
    if orphans := sorted(set(transfers) - {t["consumerPid"] for t in mine_t}):
        return False, f"the provider has transfers the consumer does not know: {orphans[:3]}"
    for t in mine_t:
        other = transfers.get(t["consumerPid"])
        if other is None:
            if t["state"] != "TERMINATED":
                return False, f"consumer transfer {t['id']} is {t['state']} but the provider never saw it"
            continue
        if other["state"] != t["state"] or t["state"] == "REQUESTED":
            return False, f"transfer {t['consumerPid']}: consumer {t['state']}, provider {other['state']}"
    return True, ""


def settle(s: Space, timeout: float = 120.0) -> None:
    """Restart both unarmed (killing an armed one is one more kill point) and wait until both sides agree."""
    for n in (s.provider, s.consumer):
        if n.armed or n.dead():
            n.kill()
            s.report.kill_points += 1
            s.report.kinds[f"settle-{n.name}"] += 1
            n.start(s.rng, arm=0.0)
    deadline = time.monotonic() + timeout
    ok, why = converged(s)
    while not ok and time.monotonic() < deadline:
        time.sleep(0.5)
        ok, why = converged(s)
    assert ok, f"no convergence after the kill points (seed {SEED}): {why}"


def check(s: Space) -> Report:
    p, c, report = s.provider, s.consumer, s.report
    negotiations = c.items("/negotiations")
    by_pid = {n["consumerPid"]: n for n in p.items("/negotiations")}
    finalized = [n for n in negotiations if n["state"] == "FINALIZED"]
    for n in finalized:
        assert by_pid[n["consumerPid"]]["agreementId"] == n["agreementId"]
    expected = sorted(n["agreementId"] for n in finalized)
    assert len(set(expected)) == len(expected), "one agreement for two negotiations"
    # no agreement lost or duplicated, on either side; one whose negotiation was terminated after AGREED (a
    # legitimate end, e.g. a message given up after the retry limit) is void, never in force
    for side in (c, p):
        assert sorted(a["id"] for a in side.items("/agreements")) == expected, side.name
        ended = {n["agreementId"]: n for n in side.items("/negotiations") if n["state"] == "TERMINATED"}
        for void in side.items("/agreements", inForce="false"):
            voided_by = ended.get(void["id"])
            assert voided_by is not None, f"{side.name}: agreement {void['id']} is neither in force nor void"
            report.void_agreements[f"{side.name}: {(voided_by['error'] or {}).get('code')}"] += 1
    report.negotiations = Counter(n["state"] for n in negotiations)
    report.terminations = Counter(
        f"{(n['error'] or {}).get('code')}: {(n['error'] or {}).get('reason', '')[:160]}"
        for n in negotiations
        if n["state"] == "TERMINATED"
    )
    report.transfers = Counter(t["state"] for t in c.items("/transfers"))
    report.agreements = len(expected)

    for side in (p, c):
        verdict = side.api.get("/ledger/verify").json()
        assert verdict["valid"], f"{side.name} ledger: {verdict}"

    # counters never under-count (connector/services/usage/world.py: a use counts from its reservation, committed
    # with the access decision, unless it was aborted: released because it delivered nothing): each counted access
    # saw every earlier reservation of its agreement that was not aborted by then, crash-left ones included
    for asset in ("weather", "big"):
        pull(s, asset)  # one more use after all the crashes, so the last counter is read after them
    aborted: set[str] = set()
    uses: dict[str, list[str]] = {}
    for record in sorted(p.ledger(), key=lambda r: int(r["seq"])):
        data = record.get("data") or {}
        if record["kind"] == "use-aborted":
            aborted.add(data["use"])
        if record["kind"] != "access" or data.get("decision") != "permit" or not data.get("use"):
            continue
        earlier = uses.setdefault(record["agreementId"], [])
        live = [u for u in earlier if u not in aborted]
        assert data["usesBefore"] >= len(live), f"under-count: {len(live)} uses before, counter {data['usesBefore']}"
        earlier.append(data["use"])
    seen = Counter({agreement: len([u for u in ids if u not in aborted]) for agreement, ids in uses.items()})
    for agreement, complete in s.observed.items():
        assert seen[agreement] >= complete, f"{agreement}: {complete} pulls delivered data, {seen[agreement]} counted"
    report.counted_uses = sum(seen.values())
    report.observed_uses = sum(s.observed.values())
    return report


def test_kill_9_at_a_hundred_seeded_points_converges(tmp_path: Path) -> None:
    with crash_space(tmp_path, SEED) as s:
        run_kill_points(s, KILL_POINTS)
        settle(s)
        report = check(s)
    print(f"crash points (seed {SEED}): {report}")  # shown with -s or -rP
    assert report.kill_points >= KILL_POINTS
    assert report.agreements > 2, "no negotiation survived the crashes"
    for kind in ("timer", "commit", "stream"):
        assert any(k.startswith(kind) for k in report.kinds), f"no {kind} kill point in this run: {report.kinds}"


@contextlib.contextmanager
def crash_databases(server_url: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database for each connector (provider, consumer), dropped afterwards."""
    names = ("provider", "consumer")
    with postgres_databases(server_url, names, prefix="gxc_crash") as base:
        yield {name: base + name for name in names}


@pytest.mark.postgres
def test_kill_9_on_postgresql_converges(tmp_path: Path, postgres_url: str) -> None:
    """The same kill points with both connectors on PostgreSQL (asyncpg, row locks, SKIP LOCKED claims)."""
    with crash_databases(postgres_url) as databases, crash_space(tmp_path, SEED + 1, databases) as s:
        run_kill_points(s, POSTGRES_KILL_POINTS)
        settle(s)
        report = check(s)
    print(f"crash points on PostgreSQL (seed {SEED + 1}): {report}")
    assert report.kill_points >= POSTGRES_KILL_POINTS
    assert report.agreements > 2, "no negotiation survived the crashes"


@contextlib.asynccontextmanager
async def weather_pair(tmp_path: Path) -> AsyncIterator[tuple[Running, Running]]:
    """A provider offering a small file ``weather`` under the open policy, and a consumer, in this process."""
    pki, clock = dataspace_pki(), Clock()
    async with (
        running(make_participant(tmp_path, "provider", pki), clock) as provider,
        running(make_participant(tmp_path, "consumer", pki), clock) as consumer,
    ):
        data = tmp_path / "weather.csv"
        data.write_text("a\n1\n", encoding="utf-8")
        await offer(provider, "weather", OPEN, {"kind": "file", "path": str(data)})
        yield provider, consumer


async def test_a_repeated_completion_is_acknowledged(tmp_path: Path) -> None:
    """Found by the kill points: the provider committed COMPLETED and died before answering; the consumer's retry
    of the same TransferCompletionMessage was refused with 400 (COMPLETED is terminal), so the consumer terminated
    its side while the provider's stayed COMPLETED. A repeat must get the current state back (house rule 2)."""
    async with weather_pair(tmp_path) as (provider, consumer):
        transfer = await start(consumer, await agree(consumer, provider, "weather"))
        r = await consumer.post(f"/transfers/{transfer['id']}/complete", {})
        assert r.status_code == 200, r.text
        await wait_state(consumer, transfer["id"], "COMPLETED")
        repeat = {
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "TransferCompletionMessage",
            "providerPid": transfer["providerPid"],
            "consumerPid": transfer["consumerPid"],
        }
        peers = consumer.app.state.connector.runtime.peers
        token = peers.token_for(provider.did)
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(
                f"{provider.base}/dsp/2025-1/transfers/{transfer['providerPid']}/completion",
                json=repeat,
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "COMPLETED"


async def test_late_duplicates_of_applied_negotiation_messages_are_acknowledged(tmp_path: Path) -> None:
    """A message whose ACK was lost (the receiver died after its commit, or the sender retried while the first try
    was in flight) may arrive again after the process moved past it: a verification at a FINALIZED provider, an
    agreement at a VERIFIED or FINALIZED consumer. Refused with 400, its sender would terminate a negotiation that
    both sides completed; it gets the current state back. A different agreement is still refused."""
    async with weather_pair(tmp_path) as (provider, consumer):
        agreement_id = await agree(consumer, provider, "weather")
        (mine,) = (await consumer.api.get("/negotiations")).json()["items"]
        pids = {"providerPid": mine["providerPid"], "consumerPid": mine["consumerPid"]}
        context = ["https://w3id.org/dspace/2025/1/context.jsonld"]
        verification = {"@context": context, "@type": "ContractAgreementVerificationMessage", **pids}
        agreement = {"@context": context, "@type": "ContractAgreementMessage", **pids, "agreement": mine["agreement"]}
        other = {**agreement, "agreement": {**mine["agreement"], "@id": "urn:uuid:another-agreement"}}

        async def post(sender: Running, receiver: Running, path: str, body: dict[str, Any]) -> httpx.Response:
            token = sender.app.state.connector.runtime.peers.token_for(receiver.did)
            async with httpx.AsyncClient(timeout=30) as http:
                return await http.post(receiver.base + path, json=body, headers={"Authorization": f"Bearer {token}"})

        r = await post(
            consumer, provider, f"/dsp/2025-1/negotiations/{pids['providerPid']}/agreement/verification", verification
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "FINALIZED"
        callback = f"/dsp/2025-1/callback/negotiations/{pids['consumerPid']}/agreement"
        r = await post(provider, consumer, callback, agreement)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "FINALIZED"
        r = await post(provider, consumer, callback, other)
        assert r.status_code == 400, r.text
        for side in (provider, consumer):
            (n,) = (await side.api.get("/negotiations")).json()["items"]
            assert (n["state"], n["agreementId"]) == ("FINALIZED", agreement_id)
