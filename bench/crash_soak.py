"""Crash soak (issue 9 §2, long form): the engine of ``tests/e2e/test_crash_points.py`` for many more kill points.

Two connectors (``gxc connector serve``, forked from a pre-imported parent) on 127.0.0.1 are killed with SIGKILL at
seeded points: after a delay, right after a database commit (``GXC_FAULT_KILL_AFTER_COMMIT``) and mid-stream, while
negotiations, transfers and pulls are in flight; every death is restarted at once. After each round both sides must
converge (same states, same agreements, none lost or duplicated), both usage ledgers must verify and the use counter
must never under-count. The report: kill points by kind, rounds, negotiations/agreements/uses and time.

    .venv/bin/python bench/crash_soak.py [--kill-points 1000] [--round 200] [--seed N] [--json]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]   (both connectors on fresh PostgreSQL databases)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.test_crash_points import (  # noqa: E402
    SEED,
    check,
    crash_databases,
    crash_space,
    run_kill_points,
    settle,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-points", type=int, default=1000)
    parser.add_argument("--round", type=int, default=200, help="kill points between convergence checks")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server URL: one fresh database per connector")
    args = parser.parse_args()
    started = time.monotonic()
    rounds: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="gxc-crash-soak-"))
        databases = stack.enter_context(crash_databases(args.postgres)) if args.postgres else None
        space = stack.enter_context(crash_space(Path(tmp), args.seed, databases))
        target = 0
        while target < args.kill_points:
            target = min(args.kill_points, target + args.round)
            run_kill_points(space, target)
            settle(space)
            report = check(space)
            rounds.append({"kill_points": report.kill_points, "agreements": report.agreements})
            print(f"round {len(rounds)}: {report.kill_points} kill points, converged", file=sys.stderr)
    result = {
        "store": "postgresql" if args.postgres else "sqlite",
        "seed": args.seed,
        "seconds": round(time.monotonic() - started, 1),
        "kill_points": report.kill_points,
        "kinds": dict(sorted(report.kinds.items())),
        "mid_stream_kills": report.mid_stream,
        "rounds": rounds,
        "negotiations": dict(report.negotiations),
        "transfers": dict(report.transfers),
        "agreements": report.agreements,
        "void_agreements": dict(report.void_agreements),
        "terminations": dict(report.terminations),
        "counted_uses": report.counted_uses,
        "complete_pulls_seen": report.observed_uses,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        head = f"crash soak ({result['store']}): seed {result['seed']}, {result['seconds']} s"
        print(f"{head}, {len(rounds)} rounds, all converged")
        print(f"{'kill point kind':<26} {'count':>6}")
        for kind, n in Counter(result["kinds"]).most_common():
            print(f"{kind:<26} {n:>6}")
        print(f"{'total':<26} {result['kill_points']:>6}  (mid-stream with bytes at the client: {report.mid_stream})")
        print(f"negotiations {result['negotiations']}, transfers {result['transfers']}")
        print(f"agreements {result['agreements']} (same on both sides); uses counted {result['counted_uses']}")
        for why, n in report.terminations.most_common():
            print(f"negotiations terminated ({n}): {why}")
        if report.void_agreements:
            print(f"agreements voided by a termination after AGREED: {result['void_agreements']}")
        print(f"complete pulls seen by the client {result['complete_pulls_seen']}; both ledgers verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
