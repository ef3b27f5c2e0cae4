"""Alembic environment and revisions of the connector database (run with ``connector.store.sql.migrate``)."""
