"""Alembic environment and revisions of the connector database.

Apply them with ``await connector.store.migrate(url)`` (``SqlStore.open`` does so at start-up) and
``await connector.store.downgrade(url, "base")``. There is no ``alembic.ini``: the environment gets its
connection from ``config.attributes["connection"]`` (see ``connector.store.sql.migration``), or from
``-x url=...`` on the command line.

A new revision: change ``connector/store/sql/tables.py``, then autogenerate against a database at head::

    from alembic import command
    from connector.store.sql.migration import alembic_config
    # inside `async with create_engine(url).begin() as conn: await conn.run_sync(...)`:
    command.revision(alembic_config(sync_conn), message="...", autogenerate=True, rev_id="0002")

and edit the result: keep it self-contained (plain ``sa`` types, not ``UtcDateTime``; file name ``r0002_*.py``)
and write a real ``downgrade``. ``test_store_migrations.py`` fails while the head and the models differ.
"""
