"""Canonicalization of untrusted JSON-LD in worker processes with a hard wall-clock timeout.

Why a process: RDFC-1.0 §4.8 (Hash N-Degree Quads) tries every permutation of blank nodes that its first-degree
hashes (§4.6) cannot tell apart, so a tiny dataset can take hours. The W3C poison test (rdf-canon test074c, a clique
of 10 blank nodes: 100 triples, far below every :class:`~self_descriptions.canonical.Limits`) runs for more than
two minutes in pyld (``shared/reference/performance.md`` §1.3); a 7-node clique already takes ~6 s. RDFC-1.0 §7.1
(Dataset Poisoning) expects implementations to abort such inputs by default, with "a configurable timeout". pyld has
no iteration limit and is pure Python (a thread running it cannot be stopped), and pyoxigraph holds the GIL while it
works, so the only hard bound in Python is a process that is killed when the budget runs out (performance.md §1.5).

What runs here: :func:`~self_descriptions.canonical.canonicalize` (RDFC-1.0 / URDNA2015 with safe mode, what
JsonWebSignature2020 verification hashes) and :func:`~self_descriptions.canonical.to_nquads` (JSON-LD 1.1 to RDF,
what SHACL validation of submitted credentials needs). The :class:`~self_descriptions.canonical.Limits` are checked
in the calling process first, so oversized input never costs a round trip; the worker checks them again.

:class:`WorkerPool`:

* a few long-lived worker processes (default ``min(2, CPUs)``), started lazily one at a time as concurrent calls
  need them and reused, so each worker's pinned-context cache (``canonical._ContextCache``) stays warm;
* every call has a wall-clock budget (default :data:`DEFAULT_TIMEOUT`, 5 s). When it runs out, the worker running
  the call is terminated (SIGTERM, then SIGKILL after :data:`TERMINATE_GRACE`) and replaced, and the caller gets
  :class:`CanonicalizationTimeout` (code ``canonicalization-timeout``). A worker that dies during a call (the
  out-of-memory killer, an operator's ``kill``) gives :class:`CanonicalizationWorkerError` (code
  ``canonicalization-worker-failed``) at once, never a hang; one that died while idle is replaced silently;
* a sync API (:meth:`WorkerPool.canonicalize`, :meth:`WorkerPool.to_nquads`; blocks the calling thread) and an async
  one (:meth:`WorkerPool.canonicalize_async`, :meth:`WorkerPool.to_nquads_async`) that waits in the pool's own
  threads (one per worker process), so the event loop never blocks and other ``asyncio.to_thread`` users are not
  starved. A cancelled async call still finishes (or times out) in its thread;
* :meth:`WorkerPool.close` (also a context manager, at garbage collection and at interpreter exit) ends the workers.

Document loaders: contexts never come from the network in the workers either. A worker uses the same offline
:class:`~self_descriptions.loader.DocumentLoader` as the caller: ``loader=None`` is the worker's own default loader
(the pinned contexts), and any other loader is pickled and sent to each worker once (then kept, keyed by a token,
with its warm context cache). A loader that cannot be pickled (a custom subclass holding e.g. a lock) is refused with
``CanonicalizationError`` code ``loader-not-transferable`` rather than silently canonicalized without a time bound:
give the worker a plain ``DocumentLoader(extra={url: file})`` with the same mappings, or canonicalize in process
(:class:`InProcess`, limits only) when the input is trusted.

Workers are ``spawn``-ed, not forked: the callers are asyncio servers with threads (uvicorn, the executor, the SQL
pool), and a ``fork`` copies locks held by other threads at that moment (a deadlock in the child) plus the server's
sockets and open database connections. ``forkserver`` would replace a killed worker faster, but its server process
and its preload list are global to the interpreter (shared with every other multiprocessing user), and replacement
only happens after a timeout or crash, where ~0.3-1 s of start-up does not matter. The catalogue's SPARQL worker
(``catalog.sparql``) makes the same choice. A spawned interpreter re-imports the parent's ``__main__`` script (the
``gxc`` console script imports the CLI), a one-time cost per worker; :meth:`WorkerPool.start` moves it to start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, Literal, Protocol

from self_descriptions import canonical
from self_descriptions.canonical import DEFAULT_LIMITS, CanonicalizationError, LimitExceeded, Limits, UndefinedTermError
from self_descriptions.errors import ContextNotAllowed, SelfDescriptionError
from self_descriptions.loader import DocumentLoader

log = logging.getLogger(__name__)

#: Default wall-clock budget of one call, seconds (a 2,000-quad credential takes ~45 ms in pyld: 100x headroom).
DEFAULT_TIMEOUT = 5.0
#: Seconds between SIGTERM and SIGKILL when a worker is stopped.
TERMINATE_GRACE = 1.0
#: Seconds a new worker may take to import pyld and report ready (a loaded 2-core machine needs a few).
START_TIMEOUT = 60.0
#: Loaders a worker keeps (each with its context cache); the least recently used is dropped beyond this.
MAX_LOADERS_PER_WORKER = 16

Operation = Literal["canonicalize", "to_nquads"]


class CanonicalizationTimeout(CanonicalizationError):
    """Canonicalizing a document took longer than the budget; the worker doing it was killed (RDFC-1.0 §7.1)."""

    code = "canonicalization-timeout"


class CanonicalizationWorkerError(CanonicalizationError):
    """The worker process died during the call, could not start, or the pool was closed."""

    code = "canonicalization-worker-failed"


class Canonicalizer(Protocol):
    """Where JSON-LD becomes RDF: RDFC-1.0 canonical N-Quads and plain N-Quads, blocking or awaitable."""

    def canonicalize(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str: ...

    def to_nquads(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str: ...

    async def canonicalize_async(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str: ...

    async def to_nquads_async(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str: ...


class InProcess:
    """Canonicalization in the calling thread, bounded by :class:`~self_descriptions.canonical.Limits` only.

    For trusted documents (our own, before signing), tests and measurements. The async methods run in the caller's
    event loop, blocking it for the duration: never use this for input from outside.
    """

    def canonicalize(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str:
        return canonical.canonicalize(document, loader=loader, limits=limits)

    def to_nquads(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str:
        return canonical.to_nquads(document, loader=loader, limits=limits)

    async def canonicalize_async(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str:
        return self.canonicalize(document, loader=loader, limits=limits)

    async def to_nquads_async(
        self, document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> str:
        return self.to_nquads(document, loader=loader, limits=limits)


@dataclass
class PoolStats:
    """Counters for operators and tests: calls answered, budgets exceeded, workers lost and workers started."""

    calls: int = 0
    timeouts: int = 0
    crashes: int = 0
    started: int = 0


def default_worker_count() -> int:
    """``min(2, CPUs available to this process)``: canonicalization is CPU-bound, and verification is bursty."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(2, cpus))


class WorkerPool:
    """Worker processes that canonicalize with a hard per-call timeout (see the module docstring)."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
        terminate_grace: float = TERMINATE_GRACE,
    ) -> None:
        if timeout <= 0 or start_timeout <= 0 or terminate_grace < 0:
            raise ValueError("timeouts must be positive")
        if workers is not None and workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = workers or default_worker_count()
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.terminate_grace = terminate_grace
        self.stats = PoolStats()
        self._context = multiprocessing.get_context("spawn")
        self._cond = threading.Condition()
        self._workers: set[_Worker] = set()
        self._idle: list[_Worker] = []
        self._closed = False
        self._executors: list[ThreadPoolExecutor] = []
        # Also ends the workers when the pool is garbage-collected or the interpreter exits (atexit).
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._executors, terminate_grace)

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every worker now and wait until each is ready (optional: workers otherwise start on demand)."""
        with self._cond:
            self._check_open()
            while len(self._workers) < self.size:
                self._idle.append(self._spawn_locked())
            taken, self._idle[:] = list(self._idle), []  # held exclusively while waiting, as a call would
        failure: CanonicalizationWorkerError | None = None
        for worker in taken:
            try:
                worker.wait_ready(self.start_timeout)
            except CanonicalizationWorkerError as exc:
                failure = exc
                self._release(worker, healthy=False)
            else:
                self._release(worker, healthy=True)
        if failure is not None:
            raise failure

    def close(self) -> None:
        """End every worker (idle ones exit on end-of-file, busy ones are killed); later calls fail. Idempotent."""
        with self._cond:
            self._closed = True
            self._idle.clear()
            self._cond.notify_all()
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def busy(self) -> int:
        """Workers currently held by a call."""
        with self._cond:
            return len(self._workers) - len(self._idle)

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (for operators' tools and tests)."""
        with self._cond:
            return sorted(w.pid for w in self._workers if w.pid is not None and w.process.exitcode is None)

    # --- sync API --------------------------------------------------------------------------------------------

    def canonicalize(
        self,
        document: Mapping[str, Any],
        *,
        loader: DocumentLoader | None = None,
        limits: Limits = DEFAULT_LIMITS,
        timeout: float | None = None,
    ) -> str:
        """:func:`self_descriptions.canonical.canonicalize` (RDFC-1.0, safe mode) in a worker, within ``timeout``."""
        return self._call("canonicalize", document, loader, limits, timeout)

    def to_nquads(
        self,
        document: Mapping[str, Any],
        *,
        loader: DocumentLoader | None = None,
        limits: Limits = DEFAULT_LIMITS,
        timeout: float | None = None,
    ) -> str:
        """:func:`self_descriptions.canonical.to_nquads` (JSON-LD 1.1 to RDF) in a worker, within ``timeout``."""
        return self._call("to_nquads", document, loader, limits, timeout)

    # --- async API -------------------------------------------------------------------------------------------

    async def canonicalize_async(
        self,
        document: Mapping[str, Any],
        *,
        loader: DocumentLoader | None = None,
        limits: Limits = DEFAULT_LIMITS,
        # asyncio.timeout() would only stop waiting; this budget kills the worker doing the work
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> str:
        """:meth:`canonicalize` without blocking the event loop."""
        return await self._call_async("canonicalize", document, loader, limits, timeout)

    async def to_nquads_async(
        self,
        document: Mapping[str, Any],
        *,
        loader: DocumentLoader | None = None,
        limits: Limits = DEFAULT_LIMITS,
        timeout: float | None = None,  # noqa: ASYNC109 - see canonicalize_async
    ) -> str:
        """:meth:`to_nquads` without blocking the event loop."""
        return await self._call_async("to_nquads", document, loader, limits, timeout)

    async def _call_async(
        self,
        operation: Operation,
        document: Mapping[str, Any],
        loader: DocumentLoader | None,
        limits: Limits,
        timeout: float | None,  # noqa: ASYNC109 - see canonicalize_async
    ) -> str:
        with self._cond:
            self._check_open()
            if not self._executors:
                # One thread per worker process: a thread holds one worker at a time, and calls beyond that queue
                # in the executor without occupying the loop's default executor.
                self._executors.append(ThreadPoolExecutor(self.size, thread_name_prefix="gxc-canonical"))
            executor = self._executors[0]
        call = functools.partial(self._call, operation, document, loader, limits, timeout)
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    # --- the call --------------------------------------------------------------------------------------------

    def _call(
        self,
        operation: Operation,
        document: Mapping[str, Any],
        loader: DocumentLoader | None,
        limits: Limits,
        timeout: float | None,
    ) -> str:
        budget = self.timeout if timeout is None else timeout
        if budget <= 0:
            raise ValueError("timeout must be positive")
        canonical.check_limits(document, limits)  # oversized input never costs a round trip
        token = _loader_token(loader)
        worker = self._acquire()
        healthy = False
        try:
            worker.wait_ready(self.start_timeout)
            reply = worker.exchange(operation, dict(document), token, loader, limits, budget)
            healthy = True
        except CanonicalizationTimeout:
            self._count("timeouts")
            raise
        except CanonicalizationWorkerError as exc:
            if self._closed:
                raise CanonicalizationWorkerError(
                    "the canonicalization worker pool was closed while the document was being processed"
                ) from exc
            self._count("crashes")
            raise
        except _NotSent:
            healthy = True  # nothing reached the worker (the loader could not be pickled): it is still in sync
            raise
        finally:
            self._release(worker, healthy=healthy)
        self._count("calls")
        if reply[0] == "ok":
            return str(reply[2])
        raise _rebuild(reply)

    def _count(self, name: str) -> None:
        with self._cond:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _check_open(self) -> None:
        if self._closed:
            raise CanonicalizationWorkerError("the canonicalization worker pool is closed")

    def _spawn_locked(self) -> _Worker:
        worker = _Worker(self._context, self.timeout + self.terminate_grace)
        self._workers.add(worker)
        self.stats.started += 1
        return worker

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                self._check_open()
                while self._idle:
                    worker = self._idle.pop()
                    if worker.process.exitcode is None:
                        return worker
                    # died while idle (out-of-memory killer, an operator): no call was affected, replace it
                    self._workers.discard(worker)
                    worker.close()
                if len(self._workers) < self.size:
                    return self._spawn_locked()
                self._cond.wait()

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        if healthy:
            with self._cond:
                if not self._closed:
                    self._idle.append(worker)
                    self._cond.notify()
                    return
        worker.stop(self.terminate_grace)
        with self._cond:
            self._workers.discard(worker)
            if not self._closed and len(self._workers) < self.size:
                # the replacement starts now; the next call waits for it to be ready (or retries if it cannot start)
                with contextlib.suppress(CanonicalizationWorkerError):
                    self._idle.append(self._spawn_locked())
            self._cond.notify()


class _NotSent(CanonicalizationError):
    """The request could not be serialized for the worker; the worker never saw it."""


class _Worker:
    """One worker process and the parent's end of its pipe; used by one thread at a time."""

    def __init__(self, context: Any, alarm_slack: float) -> None:
        # Two one-way OS pipes rather than a duplex Pipe (a socketpair): self_descriptions stays free of sockets.
        try:
            requests_in, requests_out = context.Pipe(duplex=False)
            replies_in, replies_out = context.Pipe(duplex=False)
        except OSError as exc:  # out of file descriptors
            raise CanonicalizationWorkerError(f"cannot start a canonicalization worker process: {exc}") from exc
        process: BaseProcess = context.Process(
            target=serve, args=(requests_in, replies_out, alarm_slack), name="gxc-canonical-worker", daemon=True
        )
        try:
            process.start()
        except OSError as exc:  # out of processes or memory
            for end in (requests_in, requests_out, replies_in, replies_out):
                end.close()
            raise CanonicalizationWorkerError(f"cannot start a canonicalization worker process: {exc}") from exc
        finally:
            # only the worker holds its ends now: its death reads as end-of-file here, ours as end-of-file there
            requests_in.close()
            replies_out.close()
        self.process = process
        self.pid = process.pid
        self.requests: Connection = requests_out
        self.replies: Connection = replies_in
        self.ready = False
        self.loaders: set[int] = set()
        self.sequence = itertools.count(1)

    def wait_ready(self, start_timeout: float) -> None:
        if self.ready:
            return
        try:
            if self.replies.poll(start_timeout):
                message = self.replies.recv()
                if isinstance(message, tuple) and message and message[0] == "ready":
                    self.ready = True
                    return
        except (EOFError, OSError):
            pass
        raise CanonicalizationWorkerError(
            f"the canonicalization worker process did not start within {start_timeout:g} s ({self._exit_description()})"
        )

    def exchange(
        self,
        operation: Operation,
        document: dict[str, Any],
        token: int,
        loader: DocumentLoader | None,
        limits: Limits,
        budget: float,
    ) -> tuple[Any, ...]:
        for attempt in range(2):
            sequence = next(self.sequence)
            send_loader = loader if loader is not None and (token not in self.loaders or attempt) else None
            try:
                data = ForkingPickler.dumps((operation, sequence, token, send_loader, limits, budget, document))
            except Exception as exc:  # pickling a caller's object: any error means "cannot be sent"
                raise _NotSent(
                    f"the JSON-LD document loader ({type(loader).__name__}) or the document cannot be sent to the "
                    f"canonicalization worker process ({type(exc).__name__}: {exc}); pass a plain DocumentLoader "
                    "with the same context mappings, or canonicalize trusted input in process",
                    code="loader-not-transferable",
                ) from exc
            try:
                self.requests.send_bytes(data)
                if send_loader is not None:
                    self.loaders.add(token)
                if not self.replies.poll(budget):
                    raise CanonicalizationTimeout(
                        f"canonicalization exceeded {budget:g} s (limit); the document is too complex: RDFC-1.0 "
                        "work grows factorially with blank nodes that cannot be told apart (§4.8, §7.1 dataset "
                        "poisoning), and the processing was stopped"
                    )
                reply: tuple[Any, ...] = self.replies.recv()
            except (EOFError, OSError) as exc:
                raise CanonicalizationWorkerError(
                    "the canonicalization worker process ended while processing the document "
                    f"({self._exit_description()}); the document was not canonicalized"
                ) from exc
            if reply[1] != sequence:
                raise CanonicalizationWorkerError("the canonicalization worker answered out of turn")
            if reply[0] == "need-loader":
                self.loaders.discard(token)  # the worker dropped it (least recently used): send it again
                continue
            return reply
        raise CanonicalizationWorkerError("the canonicalization worker did not accept the document loader")

    def _exit_description(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = ", e.g. by the out-of-memory killer" if name == "SIGKILL" else ""
            return f"killed by {name}{hint}"
        return f"exit status {code}"

    def stop(self, grace: float) -> None:
        """Terminate (SIGTERM), then kill (SIGKILL) after ``grace`` seconds; always reaped."""
        process = self.process
        if process.exitcode is None:
            process.terminate()
            process.join(grace)
            if process.exitcode is None:
                process.kill()
                process.join()
        self.close()

    def close(self) -> None:
        # idempotent; the process object is released with this one (no Process.close(): no races with a caller)
        self.requests.close()
        self.replies.close()


def _shutdown(workers: set[_Worker], executors: list[ThreadPoolExecutor], grace: float) -> None:
    """End every worker of a pool: idle ones see end-of-file and exit, the rest are terminated, then killed.

    Calls still queued in the executor run and fail with "the pool is closed" (no surprise CancelledError)."""
    for executor in executors:
        executor.shutdown(wait=False)
    executors.clear()
    current = list(workers)
    workers.clear()
    for worker in current:
        worker.close()
    for worker in current:
        worker.process.join(grace)
        worker.stop(grace)


# --- loaders ----------------------------------------------------------------------------------------------------

_TOKENS: weakref.WeakKeyDictionary[DocumentLoader, int] = weakref.WeakKeyDictionary()
_TOKENS_LOCK = threading.Lock()
_NEXT_TOKEN = itertools.count(1)


def _loader_token(loader: DocumentLoader | None) -> int:
    """A process-unique number per loader object (0: the workers' default loader); never reused."""
    if loader is None:
        return 0
    with _TOKENS_LOCK:
        token = _TOKENS.get(loader)
        if token is None:
            token = _TOKENS[loader] = next(_NEXT_TOKEN)
        return token


# --- replies ----------------------------------------------------------------------------------------------------

_ERRORS: dict[str, type[SelfDescriptionError]] = {
    cls.__name__: cls
    for cls in (SelfDescriptionError, CanonicalizationError, UndefinedTermError, LimitExceeded, ContextNotAllowed)
}


def _rebuild(reply: tuple[Any, ...]) -> SelfDescriptionError:
    """The worker's error as the same exception type and code the in-process call raises."""
    _, _, name, code, message = reply
    return _ERRORS.get(str(name), CanonicalizationError)(str(message), code=str(code))


# --- the worker process -----------------------------------------------------------------------------------------

_OPERATIONS: dict[str, Callable[..., str]] = {
    "canonicalize": canonical.canonicalize,
    "to_nquads": canonical.to_nquads,
}


def serve(requests: Connection, replies: Connection, alarm_slack: float) -> None:  # pragma: no cover - in the worker
    """The worker loop: one request at a time until the parent closes the pipe.

    Ctrl-C reaches a terminal's whole process group: the parent decides when workers end, so SIGINT is ignored.
    Each request also arms a SIGALRM with its default action (terminate) at the budget plus ``alarm_slack``: if the
    parent is gone or stuck, the kernel still ends a runaway canonicalization.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    alarm = getattr(signal, "setitimer", None)
    if alarm is not None:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    loaders: OrderedDict[int, DocumentLoader] = OrderedDict()
    replies.send(("ready", os.getpid()))
    while True:
        try:
            operation, sequence, token, loader, limits, budget, document = requests.recv()
        except (EOFError, OSError):
            return
        if loader is not None:
            loaders[token] = loader
        if token:
            if token not in loaders:
                replies.send(("need-loader", sequence))
                continue
            loaders.move_to_end(token)
            while len(loaders) > MAX_LOADERS_PER_WORKER:
                loaders.popitem(last=False)
        fatal = False
        if alarm is not None:
            alarm(signal.ITIMER_REAL, budget + alarm_slack)
        try:
            reply: tuple[Any, ...] = (
                "ok",
                sequence,
                _OPERATIONS[operation](document, loader=loaders.get(token), limits=limits),
            )
        except SelfDescriptionError as exc:
            reply = ("error", sequence, type(exc).__name__, exc.code, exc.message)
        except MemoryError:
            fatal = True
            reply = (
                "error",
                sequence,
                "CanonicalizationError",
                "canonicalization-out-of-memory",
                "the document needs more memory than the canonicalization worker has",
            )
        except Exception as exc:  # a pyld bug must not end the worker silently: report it as the call's failure
            reply = (
                "error",
                sequence,
                "CanonicalizationError",
                "canonicalization-failed",
                f"canonicalization failed: {type(exc).__name__}: {exc}",
            )
        finally:
            if alarm is not None:
                alarm(signal.ITIMER_REAL, 0)
        replies.send(reply)
        if fatal:
            return


# --- the process-wide pool --------------------------------------------------------------------------------------

_DEFAULT: list[WorkerPool] = []
_DEFAULT_LOCK = threading.Lock()


async def warm_up(pool: WorkerPool) -> None:
    """Start ``pool``'s workers in a thread, as start-up work of a server rather than of its first request (a
    spawned worker imports pyld: ~1 s on a loaded machine). A failure is logged; the workers then start on demand."""
    try:
        await asyncio.to_thread(pool.start)
    except SelfDescriptionError as exc:
        log.warning("canonicalization workers did not start ahead of use: %s", exc)


def default_pool() -> WorkerPool:
    """The pool verification uses when the caller configured none (``min(2, CPUs)`` workers, 5 s per call).

    Created on first use; its workers start only when a call needs them and end at interpreter exit.
    """
    with _DEFAULT_LOCK:
        if not _DEFAULT or _DEFAULT[0].closed:
            _DEFAULT[:] = [WorkerPool()]
        return _DEFAULT[0]


__all__ = [
    "DEFAULT_TIMEOUT",
    "CanonicalizationTimeout",
    "CanonicalizationWorkerError",
    "Canonicalizer",
    "InProcess",
    "PoolStats",
    "WorkerPool",
    "default_pool",
    "default_worker_count",
    "warm_up",
]
