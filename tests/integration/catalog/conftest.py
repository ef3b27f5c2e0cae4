"""Fixtures of the catalogue integration tests: an offline Gaia-X world, a clock, running catalogues."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.catalog.harness import (
    MutableClock,
    RunningCatalogue,
    free_port,
    make_state,
    running_catalogue,
    settings_for,
)
from tests.fixtures.self_descriptions.world import World, world_for


@pytest.fixture
def world() -> World:
    return world_for("ES256")


@pytest.fixture
def clock(world: World) -> MutableClock:
    return MutableClock(world.now)


CatalogueFactory = Callable[..., AbstractAsyncContextManager[RunningCatalogue]]


@pytest.fixture
def catalogue_factory(tmp_path: Path, world: World, clock: MutableClock) -> CatalogueFactory:
    """``async with catalogue_factory("a", peers=[...]) as cat``: a real server; same name = same state folder."""
    ports: dict[str, int] = {}

    def factory(name: str = "main", **overrides: Any) -> AbstractAsyncContextManager[RunningCatalogue]:
        root = tmp_path / name
        if name not in ports:
            ports[name] = free_port()
            make_state(world, root, port=ports[name], name=f"Catalogue {name}")
        settings = settings_for(root / "catalog.toml", world, **overrides)
        return running_catalogue(settings, world, clock)

    return factory


@pytest.fixture
async def catalogue(catalogue_factory: CatalogueFactory) -> AsyncIterator[RunningCatalogue]:
    async with catalogue_factory() as running:
        yield running


__all__ = ["CatalogueFactory", "dt"]
