"""Fixtures shared by every tier: free ports, a participant state folder, the PostgreSQL URL when configured."""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path

import pytest

from connector.identity.participant import init_participant


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def participant_dir(tmp_path: Path, port: int) -> Path:
    """A state folder made by the same code as `gxc init` (fresh keys per test)."""
    state = tmp_path / "participant"
    init_participant(
        state,
        participant_name="Test Participant",
        host="127.0.0.1",
        port=port,
        public_url=None,
        alg="ES256",
        now=dt.datetime.now(dt.UTC),
    )
    return state


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """``GXC_TEST_POSTGRES_URL`` or skip; CI sets it (see .ci/run)."""
    url = os.environ.get("GXC_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("GXC_TEST_POSTGRES_URL is not set")
    return url
