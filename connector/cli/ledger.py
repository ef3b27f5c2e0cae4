"""``gxc ledger show|verify``: read and prove this participant's usage ledger (issue 6 §6).

Works on the connector's database directly (running or not): ``verify`` checks every record's sequence, ``prev``
link, SHA-256 digest (over the JCS form) and detached JWS signature with the participant key, and names the first
edited, removed or reordered record. Exit code 0 when intact, 1 when not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connector.dataplane.ledger import (
    GENESIS,
    LedgerError,
    LedgerRecord,
    LedgerVerification,
    from_store,
    verify_records,
)
from connector.identity.participant import load_identity
from connector.settings import CONFIG_FILE_NAME, load_settings
from connector.store.opening import open_store

app = typer.Typer(help="Show and verify the usage ledger.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
StateDir = Annotated[Path, typer.Option("--state-dir", "-d", help="Participant state folder.")]
PAGE = 1000


async def _records(state_dir: Path, transfer: str | None, limit: int) -> list[LedgerRecord]:
    settings = load_settings(state_dir / CONFIG_FILE_NAME)
    store = await open_store(settings.sqlalchemy_url, upgrade=False)
    try:
        async with store.transaction() as tx:
            return [from_store(e) for e in await tx.ledger.list(limit=limit, transfer_id=transfer)]
    finally:
        await store.close()


async def _verify(state_dir: Path) -> LedgerVerification:
    settings = load_settings(state_dir / CONFIG_FILE_NAME)
    identity = load_identity(settings, now=dt.datetime.now(dt.UTC))
    store = await open_store(settings.sqlalchemy_url, upgrade=False)
    result = LedgerVerification(records=0, head_seq=0, head_digest=GENESIS)
    try:
        while True:
            async with store.transaction() as tx:
                page = [from_store(e) for e in await tx.ledger.list(after_seq=result.head_seq, limit=PAGE)]
            if not page:
                return result
            result = verify_records(page, identity.key.jwk, after=result)
    finally:
        await store.close()


@app.command("show")
def show(
    state_dir: StateDir = Path(".gxc/connector"),
    transfer: Annotated[str | None, typer.Option(help="Only records of this transfer (its pid).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as JSON lines.")] = False,
) -> None:
    """List ledger records in order."""
    records = asyncio.run(_records(state_dir, transfer, limit))
    if as_json:
        for record in records:
            out.print_json(json.dumps(record.to_json()))
        return
    table = Table("seq", "at", "kind", "transfer", "decision / bytes", "digest")
    for r in records:
        detail = r.data.get("decision") or (str(r.data["bytes"]) if "bytes" in r.data else "")
        table.add_row(str(r.seq), r.at, r.kind, (r.transfer_id or "")[-12:], str(detail), r.digest[:16])
    out.print(table)


@app.command("verify")
def verify(state_dir: StateDir = Path(".gxc/connector")) -> None:
    """Prove the chain intact (exit 1 naming the first bad record otherwise)."""
    try:
        result = asyncio.run(_verify(state_dir))
    except LedgerError as exc:
        err.print(f"[red]ledger INVALID[/]: {exc.message}")
        raise typer.Exit(1) from exc
    out.print(f"[green]ledger intact[/]: {result.records} records, head {result.head_seq} {result.head_digest}")
