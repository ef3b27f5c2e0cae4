"""Policy engine throughput: decisions/s for a typical 3-constraint agreement and for a 1,000-rule policy.

Every figure is compared with the parse+evaluate baseline measured in the same run (ARCHITECTURE.md §4 rule 10).
Run: ``.venv/bin/python bench/policies.py [--seconds 1.0]``. Single process, single core.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this file's folder is sys.path[0] and its name would shadow the `policies` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from policies import Request, World, compile_policy, evaluate, parse_policy  # noqa: E402
from self_descriptions.loader import DocumentLoader  # noqa: E402

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "policies"
LOADER = DocumentLoader()
TARGET = "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23"
CONSUMER = "did:web:consumer.example"


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (a warm-up call first)."""
    fn()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn()
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def big_policy(rules: int) -> dict[str, Any]:
    """A Set with ``rules`` permissions; only the last one matches the benchmark request's target."""
    doc: dict[str, Any] = {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "Set",
        "uid": "urn:bench:big",
        "permission": [],
    }
    for i in range(rules):
        doc["permission"].append(
            {
                "target": TARGET if i == rules - 1 else f"urn:asset:{i}",
                "action": "use",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research", f"p{i}"]},
                    {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2030-01-01T00:00:00Z"},
                ],
            }
        )
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="measuring time per row")
    args = parser.parse_args()
    secs = args.seconds

    message = json.loads((FIXTURES / "dsp_agreement_message.json").read_text())
    request = Request("use", TARGET, CONSUMER, {"purpose": "research"})
    world = World(now=dt.datetime(2023, 6, 1, 12, tzinfo=dt.UTC), counters={"use": 1})
    policy = parse_policy(message, loader=LOADER)
    compiled = compile_policy(policy)
    assert compiled.evaluate(request, world).decision == "permit"

    rows: list[tuple[str, float]] = []
    rows.append(
        (
            "typical: parse (pyld) + evaluate",
            rate(
                lambda: evaluate(parse_policy(copy.deepcopy(message), loader=LOADER, fast=False), request, world),
                secs / 2,
            ),
        )
    )
    rows.append(
        (
            "typical: parse (fast path) + evaluate  [baseline]",
            rate(lambda: evaluate(parse_policy(message, loader=LOADER), request, world), secs),
        )
    )
    rows.append(("typical: compile + evaluate (parsed policy)", rate(lambda: evaluate(policy, request, world), secs)))
    rows.append(("typical: compiled.evaluate (full report)", rate(lambda: compiled.evaluate(request, world), secs)))
    rows.append(("typical: compiled.decide (decision only)", rate(lambda: compiled.decide(request, world), secs)))
    for size in (100, 1000):
        big = parse_policy(big_policy(size), loader=LOADER)
        big_compiled = compile_policy(big)
        assert big_compiled.evaluate(request, world).decision == "permit"
        rows.append(
            (f"{size:,}-rule policy: compiled.evaluate", rate(lambda c=big_compiled: c.evaluate(request, world), secs))
        )  # type: ignore[misc]
        rows.append(
            (f"{size:,}-rule policy: compiled.decide", rate(lambda c=big_compiled: c.decide(request, world), secs))
        )  # type: ignore[misc]

    baseline = rows[1][1]
    print(f"{'case':52} {'decisions/s':>12} {'vs baseline':>12}")
    for name, value in rows:
        print(f"{name:52} {value:12,.0f} {value / baseline:11.2f}x")
    r100, r1000 = rows[-4][1], rows[-2][1]
    print(f"\nrule-count scaling 100 -> 1,000 rules: {r100 / r1000:.1f}x slower (10.0x = linear)")


if __name__ == "__main__":
    main()
