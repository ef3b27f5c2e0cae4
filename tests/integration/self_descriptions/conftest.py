"""Fixtures for the self_descriptions tests: one offline Gaia-X world per key type, built once per run."""

from __future__ import annotations

import pytest

from tests.fixtures.self_descriptions.world import World, world_for


@pytest.fixture
def world() -> World:
    return world_for("ES256")


@pytest.fixture(params=["ES256", "PS256", "RS256", "EdDSA"])
def any_world(request: pytest.FixtureRequest) -> World:
    return world_for(request.param)
