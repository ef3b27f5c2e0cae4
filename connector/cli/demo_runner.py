"""Runs the demo scenario with a live step table, the summary, ``--json`` and ``--keep`` (see :mod:`demo`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from connector.cli.demo import DataSpace, StepFailed, run_steps
from connector.cli.demo_scenario import STEPS


def _table(space: DataSpace, running: str | None = None) -> Table:
    table = Table(title="gxc demo: a Gaia-X data space on this machine", expand=False)
    table.add_column("", width=2)
    table.add_column("step")
    table.add_column("s", justify="right")
    table.add_column("result", overflow="fold", max_width=70)
    for result in space.results:
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        table.add_row(mark, result.name, f"{result.seconds:.2f}", result.detail)
    done = {r.name for r in space.results}
    for name, _ in STEPS:
        if name not in done:
            table.add_row("[dim]·[/]", f"[dim]{name}[/]", "", "")
    return table


def summary(space: DataSpace, ok: bool, total: float) -> dict[str, Any]:
    return {
        "ok": ok,
        "seconds": round(total, 3),
        "bytes": space.bytes_moved,
        "steps": [r.as_dict() for r in space.results],
        "state": str(space.root / "demo-state.json"),
    }


def run_demo(
    state_dir: Path, *, keep: bool, as_json: bool, console: Console, database_url_template: str | None = None
) -> bool:
    started = time.perf_counter()
    space = DataSpace(state_dir.resolve(), console, database_url_template=database_url_template)
    ok = False
    try:
        try:
            space.prepare()
        except Exception as exc:  # set-up errors end the demo with one line
            console.print(f"[bold red]error:[/] could not set up the data space: {exc}")
            return False
        (space.root / "demo-state.json").write_text(json.dumps(space.state_document(), indent=2), encoding="utf-8")
        if as_json:
            ok = asyncio.run(run_steps(space, STEPS, live=None, table=lambda: _table(space)))
        else:
            with Live(_table(space), console=console, refresh_per_second=8) as live:
                ok = asyncio.run(run_steps(space, STEPS, live=live, table=lambda: _table(space)))
        total = time.perf_counter() - started
        result = summary(space, ok, total)
        if as_json:
            console.print_json(json.dumps(result))
        else:
            _print_summary(space, console, ok, total, keys=keep)
        if keep and ok:
            _keep_running(space, console)
        return ok
    except StepFailed as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return False
    finally:
        space.stop()


def _print_summary(space: DataSpace, console: Console, ok: bool, total: float, *, keys: bool = False) -> None:
    verdict = "[bold green]all steps passed[/]" if ok else "[bold red]a step failed[/] (see its result above)"
    console.print(f"{verdict} in {total:.1f} s; {space.bytes_moved:,} bytes moved.")
    where = Table(title="where to look next", show_header=False)
    state = space.state_document()
    for name in ("provider", "consumer"):
        where.add_row(f"{name} console", state[name]["urls"]["console"] + "/")
        where.add_row(f"{name} API docs", state[name]["urls"]["openapi"])
        if keys:
            where.add_row(f"{name} API key", state[name]["api_key"])
    where.add_row("catalogue console", state["catalog"]["urls"]["console"] + "/")
    where.add_row("catalogue API docs", state["catalog"]["urls"]["openapi"])
    if keys:
        where.add_row("catalogue operator key", state["catalog"]["api_key"])
    where.add_row("logs and state", str(space.root))
    where.add_row("URLs and API keys", str(space.root / "demo-state.json"))
    console.print(where)
    if not ok:
        console.print(f"Logs of every process: {space.root}/*.log")


def _keep_running(space: DataSpace, console: Console) -> None:
    console.print("[bold]The data space keeps running[/]; press Ctrl-C to stop it.")
    stop = False

    def handler(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        while not stop:
            time.sleep(0.5)
    finally:
        signal.signal(signal.SIGINT, previous)
        with contextlib.suppress(Exception):
            console.print("stopping…")
