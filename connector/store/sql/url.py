"""Database URLs: operators write ``sqlite:///path`` or ``postgresql://...``; the store uses the async drivers."""

from __future__ import annotations

from connector.store.errors import StoreError

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class UnsupportedDatabase(StoreError):
    """The URL names a database or driver the SQL store does not support."""

    code = "unsupported-database"


def async_url(url: str) -> str:
    """``url`` with its scheme replaced by the async driver's (aiosqlite for SQLite, asyncpg for PostgreSQL)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _ASYNC_DRIVERS:
        supported = "sqlite:///path/to/file.db or postgresql://user@host/db"
        raise UnsupportedDatabase(f"unsupported database URL {url.split('@')[-1]!r}: use {supported}")
    if _ASYNC_DRIVERS[scheme].startswith("sqlite") and rest in ("", "/", "/:memory:"):
        # Each pooled connection would get its own empty database; the memory store serves that purpose.
        raise UnsupportedDatabase("in-memory SQLite is not supported by the SQL store: use the memory store")
    return f"{_ASYNC_DRIVERS[scheme]}://{rest}"
