"""Fixtures of the store contract suite: one ``backend`` per implementation (memory, SQLite file migrated by
Alembic, PostgreSQL when ``GXC_TEST_POSTGRES_URL`` is set) and factories of valid entities."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

from connector.store import MemoryStore, SqlStore, Store, migrate
from connector.store.sql.tables import Base
from tests.fixtures.entities import Factory

T = TypeVar("T")


def run_in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion in its own loop and thread, leaving pytest-asyncio's loops alone."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def admin_url(url: str, database: str) -> str:
    """``url`` (``postgresql://user@host:port/db``) pointed at another database, as an asyncpg DSN."""
    base = url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{base}/{database}"


async def create_database(url: str) -> str:
    """Create a uniquely named database next to the one ``url`` names; returns its URL."""
    name = f"gxc_store_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url(url, url.rsplit("/", 1)[1].split("?")[0] or "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url(url, name)


async def drop_database(url: str, database_url: str) -> None:
    conn = await asyncpg.connect(admin_url(url, url.rsplit("/", 1)[1].split("?")[0] or "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A database of this test session, migrated to head, dropped at the end."""
    url = run_in_thread(lambda: create_database(postgres_url))
    try:
        run_in_thread(lambda: migrate(url))
        yield url
    finally:
        run_in_thread(lambda: drop_database(postgres_url, url))


@pytest.fixture
def fresh_postgres_database(postgres_url: str) -> Iterator[str]:
    """An empty database (no schema) for migration tests."""
    url = run_in_thread(lambda: create_database(postgres_url))
    try:
        yield url
    finally:
        run_in_thread(lambda: drop_database(postgres_url, url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test copies it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "connector.db"
    run_in_thread(lambda: migrate(f"sqlite:///{path}"))
    return path


@dataclass
class Backend:
    """One store implementation; :meth:`open` gives another store on the same database (a second process)."""

    name: str
    url: str | None
    _memory: MemoryStore | None = None
    _opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        if self.url is None:
            assert self._memory is not None
            return self._memory  # one process, one memory store
        store = await SqlStore.open(self.url, upgrade=False)
        self._opened.append(store)
        return store

    async def close(self) -> None:
        for store in self._opened:
            await store.close()


async def truncate_all(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("sqlite", marks=pytest.mark.integration),
        pytest.param("postgres", marks=[pytest.mark.integration, pytest.mark.postgres]),
    ]
)
def backend_kind(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    if request.param == "memory":
        return "memory", None
    if request.param == "sqlite":
        path = tmp_path / "connector.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return "sqlite", f"sqlite:///{path}"
    return "postgres", request.getfixturevalue("postgres_database")


@pytest.fixture
async def backend(backend_kind: tuple[str, str | None]) -> AsyncIterator[Backend]:
    name, url = backend_kind
    if name == "postgres":
        assert url is not None
        await truncate_all(url)
    backend = Backend(name, url, MemoryStore() if url is None else None)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


@pytest.fixture
def make() -> Factory:
    return Factory()
