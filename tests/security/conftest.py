"""Shared fixtures of the security tests: no DNS (hostile input must never make us resolve names), catalogues."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from connector.identity import resolver as resolver_module
from connector.peer import egress
from tests.fixtures.catalog.harness import (
    MutableClock,
    RunningCatalogue,
    free_port,
    make_state,
    running_catalogue,
    settings_for,
)
from tests.fixtures.self_descriptions.world import World, world_for


@pytest.fixture(autouse=True)
def loopback_only_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzed URLs name arbitrary hosts: the in-process servers resolve only literals and ``localhost``, so no test
    sends a DNS query (or anything else) off this machine."""

    async def lookup(host: str, port: int) -> list[egress.IpAddress]:
        if host == "localhost":
            return [ipaddress.ip_address("127.0.0.1")]
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            raise OSError(f"{host}: name resolution is disabled in the security tests") from None

    monkeypatch.setattr(egress, "lookup", lookup)
    monkeypatch.setattr(resolver_module, "lookup", lookup)


@pytest.fixture
def world() -> World:
    return world_for("ES256")


@pytest.fixture
async def catalogue(tmp_path_factory: pytest.TempPathFactory, world: World) -> AsyncIterator[RunningCatalogue]:
    root = tmp_path_factory.mktemp("catalogue")
    make_state(world, root, port=free_port(), name="Security Catalogue")
    settings = settings_for(root / "catalog.toml", world)
    async with running_catalogue(settings, world, MutableClock(world.now)) as running:
        yield running
