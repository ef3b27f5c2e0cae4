"""Hot statements executed straight on the SQLite driver, compiled once by SQLAlchemy.

bench/negotiation.py: with every statement built once (``rows.py``), SQLAlchemy's execution machinery around each
call (the greenlet bridge, the execution context, cache-key lookups, result objects) was still about a quarter of a
connector's CPU, several times the cost of the SQLite call itself, over the ~45 statements of a negotiation. On
SQLite, whose calls run on the event loop's thread (``engine.InlineSqliteConnection``), :func:`run` therefore
executes a prebuilt statement on the ``sqlite3`` connection of the transaction's SQLAlchemy connection:

* the SQL text, the parameter order and the value processors come from SQLAlchemy itself, once per statement and
  set of parameter names (``compile(dialect, column_keys=...)``, exactly what ``Connection.execute`` compiles; the
  processors are the types' public ``bind_processor``/``result_processor`` for the dialect), so what is written and
  read is what SQLAlchemy would write and read (a test compares the two paths);
* it runs inside the transaction SQLAlchemy began (``BEGIN IMMEDIATE`` is emitted at ``begin()``, ``engine.py``),
  so commit and rollback stay SQLAlchemy's;
* driver errors are wrapped as SQLAlchemy wraps them (``DBAPIError.instance``), so ``rows.integrity_errors`` and
  every caller see the same exceptions.

Other databases, and statements whose SQL depends on the values (expanding ``IN`` lists), go through
``conn.execute`` and come back in the same :class:`Outcome`. Only statements built once may be passed: the compiled
plans are kept per statement object.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from connector.store.sql.engine import InlineSqliteConnection

#: Plans kept at most (statements are module-level objects, a few dozen; the bound is only a guard).
PLAN_CACHE = 512

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Outcome:
    """What a statement returned: its rows as plain dicts (column name -> value) and the rows it changed."""

    rows: list[dict[str, Any]]
    rowcount: int

    def first(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return next(iter(self.rows[0].values())) if self.rows else None

    def scalars(self) -> list[Any]:
        return [next(iter(row.values())) for row in self.rows]


@dataclass(frozen=True)
class _Plan:
    sql: str
    #: Per positional parameter: the name it is taken from (None: a constant of the statement) and its processor.
    params: tuple[tuple[str | None, Any, Processor], ...]
    #: Result value processors by position (empty when the statement returns no rows).
    results: tuple[Processor, ...]


_plans: dict[tuple[Executable, tuple[str, ...]], _Plan | None] = {}


async def run(conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None = None) -> Outcome:
    """Execute ``statement`` (built once) with ``params`` in ``conn``'s transaction."""
    values = params or {}
    sqlite = _sqlite_of(conn)
    if sqlite is not None:
        plan = _plan(statement, conn.dialect, values)
        if plan is not None:
            return _run_sqlite(sqlite, plan, values)
    result = await conn.execute(statement, dict(values))
    rows = [dict(row) for row in result.mappings().all()] if result.returns_rows else []
    return Outcome(rows, result.rowcount)


def _sqlite_of(conn: AsyncConnection) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under ``conn`` when it runs inline on this thread (our SQLite engines)."""
    if conn.dialect.name != "sqlite" or conn.sync_connection is None:
        return None
    driver = conn.sync_connection.connection.driver_connection
    return driver.sqlite if isinstance(driver, InlineSqliteConnection) else None


def _plan(statement: Executable, dialect: Dialect, values: Mapping[str, Any]) -> _Plan | None:
    keys = tuple(sorted(values))
    key = (statement, keys)
    try:
        return _plans[key]
    except KeyError:
        pass
    plan = _compile(statement, dialect, keys)
    if len(_plans) >= PLAN_CACHE:
        _plans.clear()
    _plans[key] = plan
    return plan


def _compile(statement: Executable, dialect: Dialect, keys: Sequence[str]) -> _Plan | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is None or "__[POSTCOMPILE" in compiled.string:
        return None  # values shape the SQL (expanding IN): SQLAlchemy renders it per call
    params: list[tuple[str | None, Any, Processor]] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            return None
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required or name in keys:
            params.append((name, None, processor))
        else:  # a value written into the statement (``column == "PENDING"``): processed once
            constant = bind.effective_value
            params.append((None, processor(constant) if processor is not None else constant, None))
    columns = _returned_columns(statement)
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return _Plan(compiled.string, tuple(params), results)


def _returned_columns(statement: Executable) -> Sequence[Any]:
    selected = getattr(statement, "selected_columns", None)  # SELECT
    if selected is not None:
        return list(selected)
    if getattr(statement, "_returning", ()):  # INSERT/UPDATE/DELETE ... RETURNING
        return list(statement.exported_columns)  # type: ignore[attr-defined]
    return []


def _run_sqlite(sqlite: sqlite3.Connection, plan: _Plan, values: Mapping[str, Any]) -> Outcome:
    args = [
        (values[name] if processor is None else processor(values[name])) if name is not None else constant
        for name, constant, processor in plan.params
    ]
    try:
        cursor = sqlite.execute(plan.sql, args)
        try:
            names = [d[0] for d in cursor.description] if cursor.description is not None else []
            raw = cursor.fetchall() if names else []
            rowcount = cursor.rowcount
        finally:
            cursor.close()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(plan.sql, args, exc, sqlite3.Error) from exc
    if not raw:
        return Outcome([], rowcount)
    processors = plan.results
    rows = [
        {
            name: value if processor is None or value is None else processor(value)
            for name, value, processor in zip(names, row, processors, strict=True)
        }
        for row in raw
    ]
    return Outcome(rows, rowcount)
