"""Fresh PostgreSQL databases for end-to-end runs: one per component, created next to the configured one and
dropped afterwards (each run owns its databases, so runs never see each other's state)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Sequence

import asyncpg


@contextlib.contextmanager
def postgres_databases(server_url: str, names: Sequence[str], *, prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>_<name>`` for each name on the server of ``server_url``; yields the URL of those
    databases without the name (append a name, or a ``{component}`` placeholder, to it)."""
    base = f"{prefix}_{uuid.uuid4().hex[:8]}_"
    server = server_url.split("://", 1)[1].rsplit("/", 1)[0]
    admin = f"postgresql://{server}/{server_url.rsplit('/', 1)[1] or 'postgres'}"

    async def each(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            for name in names:
                await conn.execute(statement.format(base + name))
        finally:
            await conn.close()

    asyncio.run(each('CREATE DATABASE "{}"'))
    try:
        yield f"postgresql://{server}/{base}"
    finally:
        asyncio.run(each('DROP DATABASE IF EXISTS "{}" WITH (FORCE)'))
