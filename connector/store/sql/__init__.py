"""The SQL implementation of the store contract (SQLite via aiosqlite, PostgreSQL via asyncpg)."""

from connector.store.sql.migration import downgrade, migrate
from connector.store.sql.store import SqlStore, SqlTransaction
from connector.store.sql.url import UnsupportedDatabase, async_url

__all__ = ["SqlStore", "SqlTransaction", "UnsupportedDatabase", "async_url", "downgrade", "migrate"]
