"""Between entities and rows: values for INSERT/UPDATE, rows back to validated entities, and the
database-specific statements the repositories share (insert-if-absent, integrity errors).

Hot statements are built once and executed with their values as parameters (``conn.execute(statement, values)``)
rather than built per call with the values inside (``insert(t).values(v)``): SQLAlchemy then neither coerces every
value into a bound parameter nor walks them for the statement's cache key, which was most of the cost of a write
(bench/negotiation.py: a get + versioned update transaction on SQLite went from ~1.2 to ~0.6 ms of CPU). On SQLite
such statements then run straight on the driver (``direct.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Executable, Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store.errors import Conflict, DuplicateKey
from connector.store.page import Page, check_window
from connector.store.sql.direct import run

M = TypeVar("M", bound=BaseModel)


def row_values(entity: BaseModel) -> dict[str, Any]:
    """Column values for ``entity``: JSON-ready documents (enums as strings, tuples as lists), but datetimes
    kept as datetimes for the ``UtcDateTime`` columns."""
    values = entity.model_dump(mode="json")
    for name in values:
        if isinstance(value := getattr(entity, name), dt.datetime):
            values[name] = value
    return values


def to_entity(model: type[M], row: Mapping[Any, Any]) -> M:
    """Validate a row into its entity (column names are field names)."""
    return model.model_validate(dict(row))


async def insert_if_absent(conn: AsyncConnection, table: Table, values: Mapping[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: False if a unique key already exists.

    Unlike catching IntegrityError, this does not abort a PostgreSQL transaction, so the caller can go on
    (look the existing row up, or raise DuplicateKey and let the service decide).
    """
    with integrity_errors():
        result = await run(conn, _insert_if_absent(conn.dialect.name, table), values)
    return bool(result.rowcount)


@cache
def _insert_if_absent(dialect: str, table: Table) -> Executable:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing()


@contextmanager
def integrity_errors() -> Iterator[None]:
    """Translate the database's integrity errors that checks in the repositories did not anticipate."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc.orig)
        if "UNIQUE constraint failed" in text or "duplicate key value" in text:
            raise DuplicateKey(f"unique key already exists: {text}") from exc
        raise Conflict(f"the change violates a constraint: {text}") from exc


async def select_one(
    conn: AsyncConnection, model: type[M], statement: Select[Any], params: Mapping[str, Any] | None = None
) -> M | None:
    """The entity of the first row of ``statement`` (built once: see ``direct.py``), or None."""
    row = (await run(conn, statement, params)).first()
    return None if row is None else to_entity(model, row)


async def select_page(
    conn: AsyncConnection,
    model: type[M],
    statement: Select[Any],
    *,
    offset: int,
    limit: int,
    order: tuple[ColumnElement[Any], ...],
) -> Page[M]:
    """One page in a stable order; one extra row is fetched to know whether another page follows."""
    check_window(offset, limit)
    rows = (await conn.execute(statement.order_by(*order).offset(offset).limit(limit + 1))).mappings().all()
    return Page.of([to_entity(model, row) for row in rows], offset=offset, limit=limit)
