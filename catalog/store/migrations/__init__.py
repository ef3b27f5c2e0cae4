"""Alembic environment of the catalogue store."""
