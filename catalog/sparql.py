"""The read-only SPARQL endpoint: a guard in front of a killable pyoxigraph worker process.

Refused before evaluation, with a clear error and nothing changed (the store is never writable through here):
SPARQL 1.1 Update operations (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``, ``CREATE``, ``DROP``, ``COPY``,
``MOVE``, ``ADD``; pyoxigraph's query parser rejects them too), ``SERVICE`` (federated queries would make the
catalogue an open HTTP proxy: SSRF), and oversized query text. Evaluated with a time budget: a query still running
at the deadline has its worker process killed and restarted (pyoxigraph has no cancellation; a thread could not
be stopped), then refused with ``sparql-timeout``. Results are cut at ``max_results`` (``truncated`` says so).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from catalog import sparql_worker
from catalog.errors import CatalogueError, QueryRefused, QueryTimeout

MAX_QUERY_CHARS = 20_000
_COMMENT_OR_STRING = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^>\s]*>|#[^\n]*'
)
_UPDATE = re.compile(r"\b(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SparqlResult:
    media_type: str
    body: bytes
    truncated: bool


def check_query(text: str) -> None:
    """Refuse updates, SERVICE and oversized queries (strings, IRIs and comments are ignored when looking)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(f"the query is longer than {MAX_QUERY_CHARS} characters", code="sparql-too-large")
    bare = _COMMENT_OR_STRING.sub(" ", text)
    update = _UPDATE.search(bare)
    if update and not _FORM.search(bare[: update.start()]):
        raise QueryRefused(
            f"SPARQL Update ({update.group(1).upper()}) is not allowed: this endpoint is read-only",
            code="sparql-update-refused",
            status=403,
        )
    if _SERVICE.search(bare):
        raise QueryRefused(
            "SERVICE (federated query) is not allowed: the catalogue does not make requests on a query's behalf",
            code="sparql-service-refused",
            status=403,
        )
    if not _FORM.search(bare):
        raise QueryRefused(
            "not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE", code="sparql-syntax-error"
        )


class SparqlEngine:
    """Owns the worker process; calls are serialised (one query at a time per worker) and run off the event loop."""

    def __init__(
        self,
        *,
        timeout: float,
        max_results: int,
        reload: Callable[[], Awaitable[list[tuple[str, bytes]]]] | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_results = max_results
        self._reload = reload
        self._lock = asyncio.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.restarts = 0

    async def start(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._spawn)

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=sparql_worker.main, args=(child,), daemon=True, name="gxc-catalog-sparql")
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
            self._process.close()
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._kill)

    async def load(self, graphs: Sequence[tuple[str, bytes]]) -> None:
        if graphs:
            await self._call(("load", list(graphs)), budget=None)

    async def drop(self, graphs: Sequence[str]) -> None:
        if graphs:
            await self._call(("drop", list(graphs)), budget=None)

    async def query(
        self, text: str, graphs: Sequence[str] | None = None, *, max_results: int | None = None
    ) -> SparqlResult:
        check_query(text)
        limit = min(max_results or self.max_results, self.max_results)
        answer = await self._call(("query", text, None if graphs is None else list(graphs), limit), budget=self.timeout)
        if answer[0] == "error":
            raise QueryRefused(answer[2], code=answer[1])
        return SparqlResult(answer[1], answer[2], answer[3])

    async def _call(self, message: tuple[Any, ...], *, budget: float | None) -> tuple[Any, ...]:
        async with self._lock:
            if self._conn is None:
                await asyncio.to_thread(self._spawn)
            answer = await asyncio.to_thread(self._exchange, message, budget)
            if answer is not None:
                return answer
            # Timed out: the only way to stop pyoxigraph is to end its process. Restart and reload the graphs.
            await asyncio.to_thread(self._kill)
            self.restarts += 1
            await asyncio.to_thread(self._spawn)
            if self._reload is not None:
                graphs = await self._reload()
                if graphs and await asyncio.to_thread(self._exchange, ("load", graphs), None) is None:
                    raise CatalogueError("the SPARQL worker did not reload", code="sparql-unavailable", status=503)
        raise QueryTimeout(
            f"the query ran longer than {self.timeout:g} s and was stopped; narrow its patterns or add LIMIT",
            code="sparql-timeout",
            status=400,
        )

    def _exchange(self, message: tuple[Any, ...], timeout: float | None) -> tuple[Any, ...] | None:
        conn = self._conn
        assert conn is not None
        conn.send(message)
        if timeout is not None and not conn.poll(timeout):
            return None
        answer: tuple[Any, ...] = conn.recv()
        return answer
