"""What a connector server process loads at start-up (issue 6 §3: its resident memory under 150 MB).

The RDF, JSON-LD, schema and migration libraries are ~45 MiB of resident memory together and the server needs none
of them to start and serve data: they are imported by the code that uses them. A fresh interpreter imports what
``gxc connector serve`` imports (the CLI with its plugins, the app) and must not have them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connector.cli.malloc import limit_arenas

pytestmark = pytest.mark.unit

LOADED_ON_USE = ("rdflib", "pyshacl", "owlrl", "pyoxigraph", "pyld", "lxml", "requests", "jsonschema", "alembic")

PROBE = f"""
import sys
from connector.cli.main import _load_plugins
_load_plugins()
import connector.app
print(" ".join(sorted(m for m in {LOADED_ON_USE!r} if m in sys.modules)))
"""


def test_the_server_starts_without_the_heavy_libraries() -> None:
    loaded = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    assert loaded.stdout.split() == []


def test_arena_limit_leaves_an_operator_setting_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")
    assert limit_arenas() is False
