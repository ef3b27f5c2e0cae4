"""The catalogue's SQL source of truth (SQLAlchemy 2 async; SQLite WAL or PostgreSQL; Alembic owns the schema)."""

from catalog.store.repository import CatalogueStore

__all__ = ["CatalogueStore"]
