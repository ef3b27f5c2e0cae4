"""Alembic owns the schema: upgrade from empty, downgrade to base, and the head matches the ORM metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from connector.store import SqlStore, downgrade, migrate
from connector.store.sql.engine import create_engine
from connector.store.sql.migration import HEAD_REVISION, alembic_config
from connector.store.sql.tables import Base

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("fresh_postgres_database"))


async def inspect_database(url: str) -> tuple[set[str], str | None, list[object]]:
    """Table names, the Alembic revision, and autogenerate's differences from the ORM metadata."""

    def look(conn: Connection) -> tuple[set[str], str | None, list[object]]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        return tables, context.get_current_revision(), compare_metadata(context, Base.metadata)

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(look)
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_constant_is_alembics_head() -> None:
    """migrate() skips Alembic for a database at HEAD_REVISION: a new migration must move the constant."""
    assert head_revision() == HEAD_REVISION


async def test_upgrade_from_empty_reaches_head_with_no_difference_from_the_models(empty_database: str) -> None:
    await migrate(empty_database)
    tables, revision, diff = await inspect_database(empty_database)
    assert tables == set(Base.metadata.tables)
    assert revision == head_revision()
    assert diff == []


async def test_downgrade_base_removes_everything_and_upgrade_works_again(empty_database: str) -> None:
    await migrate(empty_database)
    await downgrade(empty_database, "base")
    tables, revision, _ = await inspect_database(empty_database)
    assert tables == set()
    assert revision is None
    await migrate(empty_database)
    tables, revision, diff = await inspect_database(empty_database)
    assert (tables, revision, diff) == (set(Base.metadata.tables), head_revision(), [])


async def test_open_migrates_and_a_second_open_is_a_no_op(empty_database: str, make) -> None:
    store = await SqlStore.open(empty_database)
    try:
        async with store.transaction() as tx:
            await tx.assets.add(asset := make.asset())
    finally:
        await store.close()
    again = await SqlStore.open(empty_database)
    try:
        async with again.transaction() as tx:
            assert await tx.assets.get(asset.id) == asset
    finally:
        await again.close()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pragmas.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 1  # NORMAL
    assert pragmas["foreign_keys"] == 1
    assert int(pragmas["busy_timeout"] or 0) > 0
