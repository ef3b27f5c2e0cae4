"""Alembic environment of the catalogue store. Programmatic runs (``CatalogueStore.open``) pass an open connection in
``config.attributes["connection"]``; the ``alembic`` command line needs ``-x url=...``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from catalog.store.engine import create_engine
from catalog.store.tables import Base


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table="catalog_alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_on)
    finally:
        await engine.dispose()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database URL: alembic -x url=sqlite:///catalog.db upgrade head")
    asyncio.run(_run_from_url(url))


_main()
