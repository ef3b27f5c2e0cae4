"""Persistence: store Protocols with memory and SQL (SQLAlchemy 2, Alembic) implementations."""
