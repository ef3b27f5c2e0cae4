"""The catalogue on PostgreSQL: admission, revocation and a restart that rebuilds index and graph from the store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg
import pytest

from tests.fixtures.self_descriptions.world import World

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
async def catalogue_database(postgres_url: str) -> AsyncIterator[str]:
    name = f"gxc_catalog_{uuid.uuid4().hex[:12]}"
    admin = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield _with_database(postgres_url, name)
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def test_admission_revocation_and_restart_on_postgres(
    catalogue_factory,
    catalogue_database: str,  # type: ignore[no-untyped-def]
    world: World,
) -> None:
    did = quote(world.participant.did, safe="")
    async with catalogue_factory("pg", database_url=catalogue_database) as cat:
        response = await cat.client.post(
            "/api/v1/self-descriptions", content=world.vp_jwt(), headers={"Content-Type": "application/vp+jwt"}
        )
        assert response.status_code == 201, response.text
        assert (await cat.client.get("/api/v1/datasets", params={"q": "weather"})).json()["total"] >= 1
    async with catalogue_factory("pg", database_url=catalogue_database) as cat:
        assert (await cat.client.get("/api/v1/datasets", params={"q": "weather"})).json()["total"] >= 1
        await cat.client.post(f"/api/v1/admin/participants/{did}/revoke", json={"reason": "x"}, headers=cat.headers)
        assert (await cat.client.get("/api/v1/datasets")).json()["total"] == 0
        feed = await cat.client.get("/api/v1/federation/feed")
        assert feed.status_code == 200
        history = (await cat.client.get(f"/api/v1/admin/participants/{did}", headers=cat.headers)).json()["history"]
        assert [h["version"] for h in history] == [1]
