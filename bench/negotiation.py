"""Contract negotiation latency and throughput between two connectors on loopback (issue 5), with a same-run
baseline.

Two ``gxc connector serve`` processes (provider and consumer, real DCP tokens, real DID resolution over HTTP) on
SQLite and on PostgreSQL (``GXC_TEST_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/postgres; each run
creates and drops its own databases). Measured through the consumer's management API:

- ``negotiation``: request -> FINALIZED, as the consumer records it (``createdAt`` of the negotiation to the
  ``updatedAt`` of its FINALIZED state: 6 DSP messages, each persisted and ACKed, plus the provider's policy
  decision over the consumer's verified credentials);
- ``negotiation + transfer``: the same, then TransferRequestMessage -> STARTED (pull, with the access token);
- with 1 and with 16 concurrent clients of the consumer; p50/p95 latency and negotiations/s (wall clock);
- CPU ms per negotiation of each connector: user + system time of its process tree (``/proc/<pid>/stat``) over the
  run, divided by the negotiations. On a shared 2-core machine this is the steadier figure: throughput is bounded by
  the sum of both connectors' CPU per negotiation (both run on the same 2 cores) and by whatever else runs there.

Baseline: the raw HTTP round trip of one DSP GET on the same provider (``/.well-known/dspace-version``, the DSP
metadata endpoint, measured with the same client). Ratios are latency / baseline p50.

    .venv/bin/python bench/negotiation.py [--n 200] [--db sqlite,postgres] [--profile DIR]

``--profile DIR`` profiles both connectors with cProfile during each measured run (not start-up or warm-up) and writes
``provider-<k>.prof``/``consumer-<k>.prof`` there, k = 1, 2, ... in the order of the table rows (printed as they
run). CPU figures are then inflated by the profiler. For sampling without that distortion, attach py-spy
(``py-spy record -p PID -f raw``) to the two ``gxc connector serve`` children during a run.

Where the CPU of a negotiation went (issue 5; py-spy over the 16-client SQLite run, provider and consumer alike
within a few points; the management call of the consumer counts too):

==============================================  =======  ======================================================
before (31.6 / 31.0 ms per negotiation)          share    what was done
==============================================  =======  ======================================================
SQLAlchemy executing statements                  ~45 %    statements built once and executed with parameters
                                                          (no per-call coercion and cache key of every value);
                                                          outbox claim in one statement; transfer updates check
                                                          their agreement inside the UPDATE
a DSP catalog request per negotiation            ~12 %    the consumer reuses a peer's catalog for 30 s to find
(management POST /negotiations finds the offer)           offers (PeerOffers); the provider still judges each
                                                          request
JSON-schema validation, in and out               ~9-11 %  jsonschema-rs decides (~3 us/message instead of
                                                          ~0.5 ms), python-jsonschema explains failures
jwcrypto: importing the caller's JWK per token    ~7 %     imported once per key material (after the above, the
                                                          largest jwcrypto cost; sign+verify remain ~3 %)
``import sniffio`` failing in httpcore            ~3 %     sniffio installed (a sys.path search per attempt)
JSON columns encoded with the stdlib              ~2 %     orjson for writing JSON columns
HTTP: uvicorn/starlette/fastapi + httpx client   ~30 %    kept (httptools and uvloop were already in use)
==============================================  =======  ======================================================

After: ~17 ms per negotiation per connector in the same conditions (the table's CPU columns; bench run of the issue-5
branch against its base in one session). What is left, by share: SQLAlchemy's execution machinery around each
statement (~25 %: greenlet bridge, execution context, result objects; the SQLite calls themselves ~9 %), the HTTP
stacks on both ends (~30 %), self-issued token sign/verify and the jti transaction per DSP request (~5 %), pydantic
entities to and from rows (~3 %), the event loop (~6 %).

Second round (issue 5, ~17-18 ms per negotiation per connector and ~58 negotiations/s on SQLite at its start; py-spy
over the 16-client SQLite run after each step):

==============================================  =======  ======================================================
cost                                             share    what was done
==============================================  =======  ======================================================
SQLAlchemy's machinery around each statement     ~25 %    SQLite: hot statements compiled once by SQLAlchemy and
                                                          run on the sqlite3 driver (``store/sql/direct.py``)
a pool checkout/check-in per transaction         ~7 %     SQLite: the turn-taking transactions share one held
(an empty transaction cost ~240 us of CPU)                connection (~68 us)
httpx/httpcore for outbound DSP requests         ~15 %    aiohttp (``peer/session.py``), ~0.15 ms per request
jwcrypto JWS objects per self-issued token       ~2.5 %   our JOSE module (``cryptography`` directly)
an outbox claim transaction per message          ~5-10 %  the next message of a process is written leased to the
                                                          worker and handed over after the commit
                                                          (``services/dispatch.py``)
every ``?wait=`` call woken by every event       ~1-4 %   filtered subscriptions (``services/events.Watch``)
the load client's own httpx                      2 ms     aiohttp in this script (0.3-0.5 ms per negotiation)
==============================================  =======  ======================================================

After, SQLite, 16 clients, request -> FINALIZED: 5.5-8 ms of CPU per negotiation per connector, 77-104
negotiations/s and p50 10-16 ms with 1 client; the spread is the machine (runs of the same commit minutes apart
differ by a third, a same-run DSP GET baseline moved from 0.23 to 1.5 ms). The CPU columns still bound what two
connectors can do on 2 cores: provider + consumer + load client ~13-17 ms, i.e. 120-150 negotiations/s if nothing
else ran and both processes were busy all the time; they are not (each single-threaded process waits for the other).

PostgreSQL is slower, for reasons in the connector: SQLAlchemy + asyncpg per statement and a pool checkout per
transaction (~17-22 ms of CPU per negotiation per connector), plus a WAL flush per commit on the server. SQLAlchemy's
default pool (5 + 10) opened and closed a connection for most transactions under load (TLS handshake, a forked
backend, every statement prepared again): 20 + 10 took 16 clients from 17.6 to 25-30 negotiations/s. A driver-level
path like SQLite's (asyncpg, with its own transaction handling) is the next step there.

Third round: a handed-over message no longer asks the worker for a claim (``services.dispatch.OutboxSignal``); each
negotiation had run ~5 claim transactions per side that found nothing due. Statements per negotiation, both sides
together on PostgreSQL: 63.8 -> 55.9 (claim SELECTs 5.0 -> 1.2), and four fewer transactions. SQLite, 16 clients:
114.5 -> 122.6 negotiations/s; PostgreSQL 35.5-38.9 -> 40.1 (same machine, minutes apart). On PostgreSQL the server
itself is a third of the CPU: its processes used 13.8 CPU seconds during a ``--db postgres --n 300`` run in which
the connectors used ~29, i.e. ~13 ms of server CPU next to ~28 ms of connector CPU per negotiation, all on the same
2 cores. That sum bounds this machine to ~45-50 negotiations/s on PostgreSQL whatever the client side does, unless
the statements and transactions per negotiation drop as well.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector.identity.participant import init_participant
from connector.settings import load_settings
from self_descriptions.certificates import create_development_pki

OPEN = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:open",
    "permission": [{"action": "use"}],
}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Connector:
    name: str
    base: str
    key: str
    proc: subprocess.Popen[bytes]

    def api(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        return httpx.AsyncClient(
            base_url=self.base + "/api/management/v1", headers={"X-Api-Key": self.key}, timeout=60, limits=limits
        )


def start(root: Path, name: str, pki: Any, database_url: str | None, profile: Path | None) -> Connector:
    port = free_port()
    state = root / name
    now = dt.datetime.now(dt.UTC)
    init_participant(
        state, participant_name=name, host="127.0.0.1", port=port, public_url=None, alg="ES256", now=now, pki=pki
    )
    config = state / "gxc.toml"
    extra = {"log_level": '"warning"'}
    if database_url:
        extra["database_url"] = f'"{database_url}"'
    lines = [line for line in config.read_text(encoding="utf-8").splitlines() if line.split(" =")[0] not in extra]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = load_settings(config)
    gxc = [sys.executable, "-c", "from connector.cli import main; main()"]
    if profile is not None:
        gxc = [sys.executable, "-c", _PROFILED.format(out=str(profile / name))]
    proc = subprocess.Popen(
        [*gxc, "connector", "serve", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else ""
    connector = Connector(name, settings.base_url, key, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(connector.base + "/health", timeout=1).status_code == 200:
                return connector
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{name} did not start")


# cProfile of the measured runs only (not start-up, imports or warm-up): SIGUSR1 starts a fresh profile, SIGUSR2
# writes it to <out>-<n>.prof (n counts the measured runs); uvicorn leaves both signals alone.
_PROFILED = """
import cProfile, signal, sys
sys.argv = ["gxc"] + sys.argv[1:]
state = {{"profiler": None, "n": 0}}
def begin(*_):
    state["profiler"] = cProfile.Profile()
    state["profiler"].enable()
def end(*_):
    if state["profiler"] is not None:
        state["profiler"].disable()
        state["n"] += 1
        state["profiler"].dump_stats({out!r} + "-" + str(state["n"]) + ".prof")
        state["profiler"] = None
signal.signal(signal.SIGUSR1, begin)
signal.signal(signal.SIGUSR2, end)
from connector.cli import main
main()
"""


def stop(c: Connector) -> None:
    if c.proc.poll() is None:
        c.proc.send_signal(signal.SIGINT)
        try:
            c.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            c.proc.kill()
            c.proc.wait()


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn worker processes, when there are several)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [pid], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live descendants (``/proc/<pid>/stat`` utime + stime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in _process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


async def _written(profile: Path, k: int) -> None:
    """Wait until both connectors wrote their k-th profile (the next run or the shutdown must not overtake it)."""
    files = [profile / f"{name}-{k}.prof" for name in ("provider", "consumer")]
    for _ in range(300):
        if all(f.exists() for f in files):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _duration(item: dict[str, Any]) -> float:
    created = dt.datetime.fromisoformat(item["createdAt"])
    updated = dt.datetime.fromisoformat(item["updatedAt"])
    return (updated - created).total_seconds()


class Load:
    """The measured management calls of the consumer, sent with aiohttp: the load client shares the 2 cores with
    both connectors, and httpx cost it ~2 ms of CPU per call under 16 clients (a tenth of the machine at 80
    negotiations/s), aiohttp ~0.2 ms. Its CPU per negotiation is reported next to the connectors'."""

    def __init__(self, connector: Connector) -> None:
        self.url = connector.base + "/api/management/v1"
        self.session = aiohttp.ClientSession(
            headers={"X-Api-Key": connector.key},
            timeout=aiohttp.ClientTimeout(total=60),
            connector=aiohttp.TCPConnector(limit=64),
        )

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self.url + path, json=body, params={"wait": "30"}) as response:
            answer: dict[str, Any] = await response.json()
            return answer

    async def aclose(self) -> None:
        await self.session.close()


async def negotiate(api: Load, provider: str, offer_id: str) -> float:
    n = await api.post("/negotiations", {"counterPartyAddress": provider, "offerId": offer_id})
    if n.get("state") != "FINALIZED":
        raise SystemExit(f"negotiation did not finalize: {n}")
    return _duration(n)


async def negotiate_and_transfer(api: Load, provider: str, offer_id: str) -> float:
    n = await api.post("/negotiations", {"counterPartyAddress": provider, "offerId": offer_id})
    if n.get("state") != "FINALIZED":
        raise SystemExit(f"negotiation did not finalize: {n}")
    t = await api.post("/transfers", {"agreementId": n["agreementId"]})
    if t.get("state") != "STARTED":
        raise SystemExit(f"transfer did not start: {t}")
    # negotiation (server-recorded) + transfer request -> STARTED (server-recorded); the client's catalog
    # look-up before the negotiation is not part of either.
    return _duration(n) + _duration(t)


async def run_load(n: int, concurrency: int, one: Callable[[], Awaitable[float]]) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            queue.pop()
            latencies.append(await one())

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began


async def baseline(base: str, n: int) -> float:
    """The median round trip of the DSP version endpoint, with the load's client (aiohttp)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        times = []
        for i in range(20 + n):
            began = time.perf_counter()
            async with client.get(base + "/.well-known/dspace-version") as r:
                await r.read()
                assert r.status == 200
            if i >= 20:  # the first ones warm up
                times.append(time.perf_counter() - began)
    return statistics.median(times)


async def baseline_throughput(base: str, n: int, concurrency: int) -> float:
    """DSP version requests per second with ``concurrency`` clients, same client: what the machine gives an HTTP
    round trip through the connector's stack right now. These 2-core machines vary by a third from minute to minute,
    so negotiations/s are best read against it (the closing notes give the ratio)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def get() -> float:
            async with client.get(base + "/.well-known/dspace-version") as r:
                await r.read()
            return 0.0

        await run_load(200, concurrency, get)  # warm-up
        _, wall = await run_load(n, concurrency, get)
    return n / wall


async def bench_db(
    label: str, database_urls: tuple[str | None, str | None], n: int, profile: Path | None
) -> list[list[str]]:
    rows: list[list[str]] = []
    profiled = 0
    pki = create_development_pki(now=dt.datetime.now(dt.UTC), name="bench")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        provider = start(root, "provider", pki, database_urls[0], profile)
        consumer = start(root, "consumer", pki, database_urls[1], profile)
        try:
            async with provider.api() as p_api, consumer.api() as c_api:
                data = root / "data.csv"
                data.write_text("a,b\n1,2\n", encoding="utf-8")
                await p_api.post(
                    "/assets", json={"id": "d", "title": "d", "dataAddress": {"kind": "file", "path": str(data)}}
                )
                await p_api.post("/policies", json={"id": "open", "policy": OPEN})
                await p_api.post(
                    "/contract-definitions",
                    json={"id": "cd", "accessPolicyId": "open", "contractPolicyId": "open", "assetIds": ["d"]},
                )
                catalog = (await c_api.post("/catalog/request", json={"counterPartyAddress": provider.base})).json()
                offer_id = catalog["catalog"]["dataset"][0]["hasPolicy"][0]["@id"]
                load = Load(consumer)
                for _ in range(10):  # warm-up: DID documents cached, connections open, code paths imported
                    await negotiate(load, provider.base, offer_id)
                base = await baseline(provider.base, 200)
                baseline_row = [label, "baseline: DSP GET round trip", "1", f"{base * 1000:.2f}", "", "", "1.0x"]
                rows.append([*baseline_row, "", "", ""])
                gets = await baseline_throughput(provider.base, 4000, 16)
                rows.append([label, "baseline: DSP GETs/s", "16", "", "", f"{gets:.0f}", "", "", "", ""])
                print(" | ".join(rows[-1]), flush=True)
                for name, one in (
                    ("request -> FINALIZED", negotiate),
                    ("negotiation + transfer STARTED", negotiate_and_transfer),
                ):
                    for concurrency in (1, 16):
                        count = n if concurrency > 1 else max(20, n // 4)
                        if profile is not None:
                            for c in (provider, consumer):
                                c.proc.send_signal(signal.SIGUSR1)
                        cpu_before = cpu_seconds(provider.proc.pid), cpu_seconds(consumer.proc.pid)
                        client_before = time.process_time()
                        latencies, wall = await run_load(
                            count, concurrency, lambda one=one: one(load, provider.base, offer_id)
                        )
                        cpu_p = (cpu_seconds(provider.proc.pid) - cpu_before[0]) / count
                        cpu_c = (cpu_seconds(consumer.proc.pid) - cpu_before[1]) / count
                        cpu_client = (time.process_time() - client_before) / count
                        if profile is not None:
                            profiled += 1
                            for c in (provider, consumer):
                                c.proc.send_signal(signal.SIGUSR2)
                            await _written(profile, profiled)
                            print(f"profile {profiled}: {label}, {name}, {concurrency} clients", flush=True)
                        p50, p95 = pct(latencies, 0.5), pct(latencies, 0.95)
                        rows.append(
                            [
                                label,
                                name,
                                str(concurrency),
                                f"{p50 * 1000:.1f}",
                                f"{p95 * 1000:.1f}",
                                f"{count / wall:.1f}",
                                f"{p50 / base:.0f}x",
                                f"{cpu_p * 1000:.1f}",
                                f"{cpu_c * 1000:.1f}",
                                f"{cpu_client * 1000:.1f}",
                            ]
                        )
                        print(" | ".join(rows[-1]), flush=True)
                await load.aclose()
        finally:
            stop(consumer)
            stop(provider)
    return rows


async def with_postgres(url: str, n: int, profile: Path | None) -> list[list[str]]:
    import asyncpg  # only needed here

    suffix = uuid.uuid4().hex[:8]
    names = (f"gxc_bench_provider_{suffix}", f"gxc_bench_consumer_{suffix}")
    admin = await asyncpg.connect(url)
    try:
        for db in names:
            await admin.execute(f'CREATE DATABASE "{db}"')
        root_url = url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return await bench_db("postgres", (f"{root_url}/{names[0]}", f"{root_url}/{names[1]}"), n, profile)
    finally:
        for db in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="negotiations per concurrent run (16 clients)")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats of both connectors here")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    rows: list[list[str]] = []
    for db in args.db.split(","):
        if db == "sqlite":
            rows += await bench_db("sqlite", (None, None), args.n, args.profile)
        elif db == "postgres":
            url = os.environ.get("GXC_TEST_POSTGRES_URL") or DEFAULT_PG
            try:
                rows += await with_postgres(url.replace("postgresql+asyncpg://", "postgresql://"), args.n, args.profile)
            except (OSError, ImportError) as exc:
                print(f"PostgreSQL skipped: {exc}", flush=True)
    header = [
        "store",
        "measure",
        "clients",
        "p50 ms",
        "p95 ms",
        "negotiations/s",
        "p50 / baseline",
        "CPU ms/neg provider",
        "CPU ms/neg consumer",
        "CPU ms/neg load client",
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    asyncio.run(main())
