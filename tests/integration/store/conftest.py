"""Fixtures of the store contract suite: one ``backend`` per implementation (memory, SQLite file migrated by
Alembic, PostgreSQL when ``GXC_TEST_POSTGRES_URL`` is set) and factories of valid entities."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from connector.domain import (
    Agreement,
    Asset,
    ContractDefinition,
    FileDataAddress,
    HttpDataAddress,
    IdempotencyRecord,
    Negotiation,
    OutboxMessage,
    PolicyDefinition,
    ProcessKind,
    SecretRef,
    TransferProcess,
)
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.store import MemoryStore, SqlStore, Store, migrate
from connector.store.sql.tables import Base

T = TypeVar("T")

#: A fixed instant: the store never reads the clock, so neither do its tests.
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


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


class Factory:
    """Valid entities with unique ids; keyword arguments override fields."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}"

    def asset(self, **over: Any) -> Asset:
        values: dict[str, Any] = {
            "id": self.id("asset"),
            "title": "Weather observations",
            "description": "Hourly observations",
            "keywords": ("weather", "open data"),
            "content_type": "application/json",
            "data_address": HttpDataAddress(
                base_url="https://backend.example/data",
                allowed_methods=("GET", "POST"),
                proxy_path=True,
                headers={"Authorization": SecretRef(secret="backend-token")},
            ),
            "created_at": T0,
            "properties": {"license": "CC-BY-4.0", "nested": {"n": [1, 2]}},
        }
        return Asset(**{**values, **over})

    def file_asset(self, **over: Any) -> Asset:
        return self.asset(data_address=FileDataAddress(path="/srv/data/file.csv"), **over)

    def policy(self, **over: Any) -> PolicyDefinition:
        policy = {"@type": "Set", "permission": [{"action": "use", "constraint": []}]}
        return PolicyDefinition(**{"id": self.id("policy"), "policy": policy, "created_at": T0, **over})

    def contract_definition(self, access: str, contract: str, **over: Any) -> ContractDefinition:
        values = {"id": self.id("cdef"), "access_policy_id": access, "contract_policy_id": contract}
        return ContractDefinition(**{**values, "asset_ids": ("asset-a",), "created_at": T0, **over})

    def negotiation(self, **over: Any) -> Negotiation:
        values: dict[str, Any] = {
            "id": self.id("neg"),
            "role": Role.PROVIDER,
            "consumer_pid": f"urn:uuid:{uuid.uuid4()}",
            "provider_pid": f"urn:uuid:{uuid.uuid4()}",
            "counter_party_id": "did:web:consumer.example",
            "counter_party_address": "https://consumer.example/callback",
            "state": NegotiationState.REQUESTED,
            "offers": ({"@type": "Offer", "@id": "urn:offer:1", "target": "asset-a"},),
            "asset_id": "asset-a",
            "created_at": T0,
            "updated_at": T0,
        }
        return Negotiation(**{**values, **over})

    def agreement(self, negotiation_id: str, **over: Any) -> Agreement:
        values: dict[str, Any] = {
            "id": self.id("urn:agreement"),
            "negotiation_id": negotiation_id,
            "asset_id": "asset-a",
            "provider_id": "did:web:provider.example",
            "consumer_id": "did:web:consumer.example",
            "policy": {"@type": "Agreement", "permission": [{"action": "use"}]},
            "signed_at": T0,
        }
        return Agreement(**{**values, **over})

    def transfer(self, agreement_id: str, **over: Any) -> TransferProcess:
        values: dict[str, Any] = {
            "id": self.id("tp"),
            "role": Role.PROVIDER,
            "consumer_pid": f"urn:uuid:{uuid.uuid4()}",
            "provider_pid": f"urn:uuid:{uuid.uuid4()}",
            "agreement_id": agreement_id,
            "asset_id": "asset-a",
            "counter_party_id": "did:web:consumer.example",
            "counter_party_address": "https://consumer.example/callback",
            "callback_address": "https://consumer.example/callback",
            "format": "HttpData-PULL",
            "state": TransferState.REQUESTED,
            "created_at": T0,
            "updated_at": T0,
        }
        return TransferProcess(**{**values, **over})

    def message(self, **over: Any) -> OutboxMessage:
        values: dict[str, Any] = {
            "id": self.id("msg"),
            "process_kind": ProcessKind.NEGOTIATION,
            "process_id": self.id("neg"),
            "message_type": "ContractRequestMessage",
            "target_url": "https://provider.example/dsp/negotiations/request",
            "body": {"@type": "ContractRequestMessage", "consumerPid": "urn:uuid:1"},
            "next_attempt_at": T0,
            "created_at": T0,
        }
        return OutboxMessage(**{**values, **over})

    def idempotency(self, **over: Any) -> IdempotencyRecord:
        values: dict[str, Any] = {
            "key": self.id("idem"),
            "request_hash": "sha256:abc",
            "status_code": 201,
            "response": {"@id": "asset-1"},
            "created_at": T0,
        }
        return IdempotencyRecord(**{**values, **over})


@pytest.fixture
def make() -> Factory:
    return Factory()
