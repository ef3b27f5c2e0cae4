"""Schema migrations, run programmatically: Alembic owns the schema (house rule 6).

The Alembic environment lives in ``connector/store/migrations``. Here we hand it an open connection (Alembic's
"connection sharing" recipe), so the same engine configuration (drivers, SQLite pragmas) applies.

A database already at :data:`HEAD_REVISION` is left alone without importing Alembic: Alembic and Mako are ~10 MiB of
a connector's resident memory (issue 6 §3) and every start-up after the first finds the schema current. The
constant is checked against Alembic's own head by ``tests/integration/store/test_store_migrations.py``, so a new
migration without it fails the tests rather than being skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from connector.store.sql.engine import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: The newest revision in ``migrations/versions`` (Alembic's head).
HEAD_REVISION = "0002"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration without an ini file; with ``connection``, migrations run on it."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` (default: empty)."""
    await _run(url, "downgrade", revision)


async def _run(url: str, direction: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_apply, direction, revision)
    finally:
        await engine.dispose()


def _apply(connection: Connection, direction: str, revision: str) -> None:
    if direction == "upgrade" and revision == "head" and current_revisions(connection) == [HEAD_REVISION]:
        return
    from alembic import command

    config = alembic_config(connection)
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def current_revisions(connection: Connection) -> list[str]:
    """The revisions recorded in ``alembic_version`` (none for a database Alembic has not touched)."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    return [str(v) for v in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()]
