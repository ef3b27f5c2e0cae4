"""``gxc ledger show|verify`` on a connector's database: intact, then edited, removed and reordered records."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from tests.integration.connector.harness import dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, running

pytestmark = pytest.mark.integration


def verify(state: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ledger", "verify", "-d", str(state)])
    return result.exit_code, result.output + repr(result.exception)


async def test_ledger_verify_detects_edits_removals_and_reordering(tmp_path: Path) -> None:
    state = make_participant(tmp_path, "provider", dataspace_pki())
    async with running(state, Clock()) as provider:
        usage = provider.app.state.usage
        async with provider.app.state.connector.runtime.store.transaction() as tx:
            for n in range(4):
                await usage.ledger.append(tx, "access", transfer_id=f"t{n}", data={"decision": "permit", "bytes": n})
    code, output = await asyncio.to_thread(verify, state)
    assert code == 0, output
    assert "4 records" in output
    shown = await asyncio.to_thread(CliRunner().invoke, app, ["ledger", "show", "-d", str(state), "--json"])
    assert shown.exit_code == 0
    assert '"decision": "permit"' in shown.output

    db, pristine = state / "connector.db", tmp_path / "pristine.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to copy and edit
    shutil.copy(db, pristine)
    for statement, expected in (
        (
            'UPDATE ledger_entries SET data = \'{"decision": "deny", "bytes": 1}\' WHERE seq = 2',
            "record 2 was modified",
        ),
        ("DELETE FROM ledger_entries WHERE seq = 3", "record 4 found where record 3 was expected"),
        (
            "UPDATE ledger_entries SET seq = seq + 10 WHERE seq IN (2, 3); "
            "UPDATE ledger_entries SET seq = 3 WHERE seq = 12; UPDATE ledger_entries SET seq = 2 WHERE seq = 13",
            "record 2 does not link",
        ),
        ("UPDATE ledger_entries SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 4", "record 4 was modified"),
    ):
        shutil.copy(pristine, db)
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.executescript(statement)
        code, output = await asyncio.to_thread(verify, state)
        assert code == 1, output
        assert expected in " ".join(output.split()), output
