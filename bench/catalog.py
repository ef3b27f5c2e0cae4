"""Catalogue benchmarks (issue 7): admission throughput and discovery latency, each with a same-run baseline.

Run: ``.venv/bin/python bench/catalog.py [--sizes 1000,10000,100000] [--admissions 60]``.

* Admission: VPs/s through :class:`catalog.admission.Admission` (full GXDCH checks: every signature, x5u chain,
  SHACL 25.11, notary, T&C, expiry) with cached DID documents and chains (offline world), against the baseline of
  signatures + chains only (``verify_presentation``).
* Keyword+facet search: p50/p95 of :class:`catalog.search.SearchIndex` against the unindexed scan.
* SPARQL: a typical query (keyword + publisher + purpose) p50/p95 through the guarded pyoxigraph worker process
  (IPC included) against an rdflib ``Graph`` over the same triples (rdflib only up to 10,000 datasets: its load
  time and memory beyond that are excessive). "varied" runs the same shape with a random keyword, publisher and
  purpose in each repetition, so the worker's join-order plan (``catalog/sparql_plan.py``) is mostly not cached.
* Memory: RSS growth of the index process and the worker's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rdflib

from catalog.admission import Admission, TrustFramework, normalise_submission
from catalog.graph import iri, participant_ntriples
from catalog.model import DatasetRecord
from catalog.search import SearchIndex
from catalog.sparql import SparqlEngine
from self_descriptions.verify import verify_presentation
from tests.fixtures.self_descriptions.world import make_world

WORDS = [
    "weather",
    "traffic",
    "energy",
    "health",
    "mobility",
    "air",
    "water",
    "soil",
    "noise",
    "retail",
    "logistics",
    "finance",
    "climate",
    "satellite",
    "grid",
    "parking",
    "tourism",
    "agriculture",
    "forest",
    "port",
]
PURPOSES = ("research", "commercial", "public-service", "teaching")
SPARQL = """PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/>
PREFIX gxc: <https://w3id.org/gxc/catalogue#>
SELECT ?d ?title WHERE { ?d dcat:keyword "weather" ; dct:publisher <did:web:provider-7.example> ;
  gxc:purpose "research" ; dct:title ?title } LIMIT 50"""


def varied_sparql(rng: random.Random) -> str:
    return (
        SPARQL.replace('"weather"', f'"{rng.choice(WORDS)}"')
        .replace("provider-7", f"provider-{rng.randrange(100)}")
        .replace('"research"', f'"{rng.choice(PURPOSES)}"')
    )


def rss_mib(pid: int | None = None) -> float:
    with open(f"/proc/{pid or os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def records(n: int, participants: int = 100) -> dict[str, list[DatasetRecord]]:
    rng = random.Random(n)
    out: dict[str, list[DatasetRecord]] = {}
    for i in range(n):
        did = f"did:web:provider-{i % participants}.example"
        kws = rng.sample(WORDS, 3)
        data = {
            "id": f"https://provider-{i % participants}.example/datasets/{i}",
            "participant": did,
            "providerName": f"Provider {i % participants}",
            "source": "dsp",
            "type": ["Dataset"],
            "title": f"{kws[0].title()} {kws[1]} dataset {i}",
            "description": f"Observations of {kws[2]} {i}",
            "keywords": kws,
            "formats": [rng.choice(["HttpData-PULL", "HttpData-PUSH"])],
            "purposes": [rng.choice(PURPOSES)],
            "constraints": ["purpose"],
            "membershipRequired": i % 5 == 0,
            "policies": [],
        }
        out.setdefault(did, []).append(DatasetRecord(did, "dsp", data["id"], data))
    return out


async def bench_admission(count: int) -> None:
    world = make_world("ES256")
    trust = TrustFramework(tuple(world.anchors), (world.notary.did,), (), ("25.11",))
    admission = Admission(trust, resolver=world.resolver(), x5u_fetcher=world.fetcher())
    vps = [world.vp_jwt() for _ in range(count)]
    value, text = normalise_submission(vps[0], max_bytes=1 << 20)
    assert (await admission.assess(value, text, now=world.now)).compliant  # warm caches (contexts, shapes)
    start = time.perf_counter()
    for vp in vps:
        value, text = normalise_submission(vp, max_bytes=1 << 20)
        await admission.assess(value, text, now=world.now)
    full = count / (time.perf_counter() - start)
    resolver, fetcher = world.resolver(), world.fetcher()
    start = time.perf_counter()
    for vp in vps:
        await verify_presentation(
            vp, resolver=resolver, trust_anchors=world.anchors, now=world.now, x5u_fetcher=fetcher
        )
    base = count / (time.perf_counter() - start)
    print("| admission | VPs/s | baseline (signatures + chains only) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| full compliance, {len(world.tokens())} VCs per VP, cached DIDs | {full:.0f} | {base:.0f} | "
        f"{full / base:.2f}x |"
    )
    print()


async def bench_queries(sizes: list[int], reps: int) -> None:
    print(
        "| datasets | index build s | RSS +MiB | keyword+facet p50/p95 ms | scan p50/p95 ms | ratio p95 | "
        "SPARQL worker p50/p95 ms | varied p50/p95 ms | worker RSS MiB | rdflib p50/p95 ms | ratio p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        data = records(n)
        before = rss_mib()
        start = time.perf_counter()
        index = SearchIndex()
        for did, recs in data.items():
            index.replace(did, recs)
        build = time.perf_counter() - start
        grown = rss_mib() - before
        visible = set(index.records)
        rng = random.Random(1)
        queries = [
            (rng.choice(WORDS), {"purpose": [rng.choice(PURPOSES)], "format": ["HttpData-PULL"]}) for _ in range(reps)
        ]
        fast = []
        for q, f in queries:
            t = time.perf_counter()
            index.search(q, f, visible=visible, offset=0, limit=20)
            fast.append(time.perf_counter() - t)
        slow = []
        for q, f in queries[: max(3, reps // 20)]:
            t = time.perf_counter()
            index.scan(q, f, visible=visible, offset=0, limit=20)
            slow.append(time.perf_counter() - t)
        graphs = [(iri(did, "participant").value, participant_ntriples(did, None, recs)) for did, recs in data.items()]
        engine = SparqlEngine(timeout=30, max_results=10_000)
        await engine.start()
        await engine.load(graphs)
        worker = []
        for _ in range(reps):
            t = time.perf_counter()
            await engine.query(SPARQL)
            worker.append(time.perf_counter() - t)
        varied = []
        for _ in range(reps):
            text = varied_sparql(rng)
            t = time.perf_counter()
            await engine.query(text)
            varied.append(time.perf_counter() - t)
        worker_rss = rss_mib(engine._process.pid) if engine._process and engine._process.pid else 0.0
        await engine.close()
        if n <= 10_000:
            g = rdflib.Dataset(default_union=True)
            for name, nt in graphs:
                g.graph(rdflib.URIRef(name)).parse(data=nt.decode(), format="nt")
            base = []
            for _ in range(max(3, reps // 10)):
                t = time.perf_counter()
                list(g.query(SPARQL))
                base.append(time.perf_counter() - t)
            rdf = f"{pct(base, 50):.2f} / {pct(base, 95):.2f} | {pct(base, 95) / pct(worker, 95):.0f}x"
        else:
            rdf = "skipped (load too slow) | -"
        print(
            f"| {n:,} | {build:.1f} | {grown:.0f} | {pct(fast, 50):.2f} / {pct(fast, 95):.2f} | "
            f"{pct(slow, 50):.1f} / {pct(slow, 95):.1f} | {pct(slow, 95) / pct(fast, 95):.0f}x | "
            f"{pct(worker, 50):.2f} / {pct(worker, 95):.2f} | {pct(varied, 50):.2f} / {pct(varied, 95):.2f} | "
            f"{worker_rss:.0f} | {rdf} |",
            flush=True,
        )
        del index, data, graphs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--admissions", type=int, default=60)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    print(f"catalogue bench, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}\n")
    asyncio.run(bench_admission(args.admissions))
    asyncio.run(bench_queries([int(s) for s in args.sizes.split(",")], args.reps))


if __name__ == "__main__":
    main()
