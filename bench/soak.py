"""Soak (issue 9 §7): concurrent catalog requests, negotiations and pulls against a running data space on loopback.

Starts ``gxc demo --keep`` in a temporary folder (trust anchor, catalogue, provider with an HTTP backend, consumer:
separate processes on 127.0.0.1), then for ``--minutes`` runs ``--workers`` concurrent loops of

- catalog: the consumer's DSP catalog request to the provider, and a search in the federated catalogue;
- negotiate: a contract negotiation for the open dataset (``offer-c``) until FINALIZED;
- pull: a transfer on an agreement, then the data streamed through the consumer's management API.

Every 2 s the RSS of each process (``/proc/<pid>/status`` VmRSS) is sampled. The report: operations per second and
error rate per kind, and each process's RSS after warm-up (the first 20 % of the run) and at the end, with growth.
Target: zero errors, growth under 10 % over 10 minutes.

    .venv/bin/python bench/soak.py [--minutes 10] [--workers 6] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
GXC = str(Path(sys.executable).parent / "gxc")
KINDS = ("catalog", "negotiate", "pull")


@dataclass
class Stats:
    ok: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    last_error: dict[str, str] = field(default_factory=dict)
    rss: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def label(pid: int, state: dict[str, Any]) -> str | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    for name in ("provider", "consumer", "catalog"):
        if state[name]["state_dir"] in cmdline:
            return name
    if " trust " in cmdline or "trust serve" in cmdline:
        return "trust"
    if "backend" in cmdline or "http.server" in cmdline:
        return "backend"
    return None


async def start_space(folder: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    log = (folder / "demo.log").open("wb")
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measured part
        [GXC, "demo", "--keep", "--json", "-d", str(folder / "space")], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    state_file = folder / "space" / "demo-state.json"
    for _ in range(1200):
        if process.poll() is not None:
            raise SystemExit(f"gxc demo exited with {process.returncode}; see {folder / 'demo.log'}")
        if state_file.exists() and b'"ok"' in (folder / "demo.log").read_bytes():
            return process, json.loads(state_file.read_text())
        await asyncio.sleep(0.25)
    raise SystemExit("the data space did not come up within 5 minutes")


class Workload:
    def __init__(self, state: dict[str, Any], stats: Stats) -> None:
        self.state, self.stats = state, stats
        self.provider = state["provider"]["urls"]["base"]
        c = state["consumer"]
        self.api = httpx.AsyncClient(base_url=c["urls"]["management"], headers={"X-Api-Key": c["api_key"]}, timeout=60)
        self.catalog = httpx.AsyncClient(base_url=state["catalog"]["urls"]["base"], timeout=60)
        self.offer_id: str | None = None
        self.agreements: list[str] = []

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.catalog.aclose()

    async def prepare(self) -> None:
        r = await self.api.post("/catalog/request", json={"counterPartyAddress": self.provider})
        r.raise_for_status()
        datasets = r.json()["catalog"]["dataset"]
        (air,) = [d for d in datasets if d["@id"] == "air-quality"]
        self.offer_id = air["hasPolicy"][0]["@id"]
        for _ in range(3):
            self.agreements.append(await self.negotiate())

    async def negotiate(self) -> str:
        body = {"counterPartyAddress": self.provider, "offerId": self.offer_id}
        r = await self.api.post("/negotiations", json=body, params={"wait": 30})
        _expect(r, 201)
        if r.json()["state"] != "FINALIZED":
            raise RuntimeError(f"negotiation ended {r.json()['state']}: {r.json().get('error')}")
        return str(r.json()["agreementId"])

    async def catalog_request(self) -> None:
        _expect(await self.api.post("/catalog/request", json={"counterPartyAddress": self.provider}), 200)
        _expect(await self.catalog.get("/api/v1/datasets", params={"q": "air"}), 200)

    async def pull(self) -> None:
        agreement = random.choice(self.agreements)  # load spreading, not security
        r = await self.api.post("/transfers", json={"agreementId": agreement}, params={"wait": 30})
        _expect(r, 201)
        transfer = r.json()
        if transfer["state"] != "STARTED":
            raise RuntimeError(f"transfer {transfer['state']}: {transfer.get('error')}")
        data = await self.api.get(f"/transfers/{transfer['id']}/data", params={"purpose": "research"})
        _expect(data, 200)
        if not data.content:
            raise RuntimeError("empty pull")
        await self.api.post(f"/transfers/{transfer['id']}/complete")

    async def run(self, kind: str, deadline: float) -> None:
        action = {"catalog": self.catalog_request, "negotiate": self.negotiate, "pull": self.pull}[kind]
        while time.monotonic() < deadline:
            try:
                await action()
                self.stats.ok[kind] += 1
            except Exception as exc:  # every failure is counted and shown; the soak goes on
                self.stats.errors[kind] += 1
                self.stats.last_error[kind] = f"{type(exc).__name__}: {str(exc)[:300]}"


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} -> {response.status_code}: {response.text[:200]}"
        )


async def sample(pids: dict[str, int], stats: Stats, start: float, deadline: float) -> None:
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            value = rss_kib(pid)
            if value is not None:
                stats.rss[name].append((time.monotonic() - start, value))
        await asyncio.sleep(2)


def report(stats: Stats, seconds: float, warmup: float) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": round(seconds, 1), "operations": {}, "memory": {}}
    for kind in KINDS:
        ok, bad = stats.ok[kind], stats.errors[kind]
        out["operations"][kind] = {
            "ok": ok,
            "errors": bad,
            "per_second": round(ok / seconds, 2),
            "error_rate": round(bad / max(ok + bad, 1), 4),
            "last_error": stats.last_error.get(kind),
        }
    for name, samples in sorted(stats.rss.items()):
        after = [v for t, v in samples if t >= warmup] or [v for _, v in samples]
        first, last, peak = after[0], after[-1], max(v for _, v in samples)
        out["memory"][name] = {
            "rss_mib_after_warmup": round(first / 1024, 1),
            "rss_mib_end": round(last / 1024, 1),
            "rss_mib_peak": round(peak / 1024, 1),
            "growth_percent": round(100 * (last - first) / first, 1),
        }
    return out


def print_table(result: dict[str, Any]) -> None:
    print(f"soak: {result['seconds']} s")
    print(f"{'operation':<10} {'ok':>7} {'errors':>7} {'ops/s':>8} {'error rate':>10}")
    for kind, r in result["operations"].items():
        print(f"{kind:<10} {r['ok']:>7} {r['errors']:>7} {r['per_second']:>8} {r['error_rate']:>10.2%}")
        if r["last_error"]:
            print(f"  last error: {r['last_error']}")
    print(f"{'process':<10} {'RSS after warm-up MiB':>22} {'end MiB':>8} {'peak MiB':>9} {'growth':>8}")
    for name, m in result["memory"].items():
        print(
            f"{name:<10} {m['rss_mib_after_warmup']:>22} {m['rss_mib_end']:>8} {m['rss_mib_peak']:>9} "
            f"{m['growth_percent']:>7}%"
        )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="about 30 s (overrides --minutes)")
    parser.add_argument("--workers", type=int, default=6, help="concurrent loops, spread over the three kinds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seconds = 30.0 if args.quick else args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="gxc-soak-") as tmp:
        folder = Path(tmp)
        process, state = await start_space(folder)
        try:
            pids = {name: pid for pid in descendants(process.pid) if (name := label(pid, state))}
            pids["demo"] = process.pid
            stats = Stats()
            work = Workload(state, stats)
            await work.prepare()
            start = time.monotonic()
            deadline = start + seconds
            loops = [work.run(KINDS[i % len(KINDS)], deadline) for i in range(args.workers)]
            await asyncio.gather(sample(pids, stats, start, deadline), *loops)
            await work.aclose()
            result = report(stats, time.monotonic() - start, warmup=seconds * 0.2)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    print(json.dumps(result, indent=2)) if args.json else print_table(result)
    errors = sum(r["errors"] for r in result["operations"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
