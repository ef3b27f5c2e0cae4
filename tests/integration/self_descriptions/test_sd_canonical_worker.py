"""The canonicalization worker pool with real processes: timeout and kill, crash recovery, concurrency, equal bytes.

The slow input is a genuine poison dataset (``tests/fixtures/self_descriptions/poison.py``: the W3C rdf-canon
clique test, which runs for hours in pyld), not a test hook that sleeps. No test asserts a duration except that a
call returns within a generous bound after its budget.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from self_descriptions.canonical import (
    CanonicalizationError,
    LimitExceeded,
    Limits,
    UndefinedTermError,
    canonicalize,
    to_nquads,
)
from self_descriptions.canonical_worker import (
    CanonicalizationTimeout,
    CanonicalizationWorkerError,
    InProcess,
    WorkerPool,
    default_pool,
)
from self_descriptions.errors import ContextNotAllowed, SelfDescriptionError
from self_descriptions.loader import DocumentLoader
from self_descriptions.proofs.jws2020 import sign_jws2020
from tests.fixtures.self_descriptions.poison import poison_document
from tests.fixtures.self_descriptions.world import World, tagus_participant

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: Seconds a call may take beyond its budget (terminate grace, reaping, a loaded CI machine).
GENEROUS = 10.0


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(workers=1, timeout=1.0) as p:
        yield p


def _documents(world: World) -> list[tuple[str, dict[str, Any]]]:
    """The project's JSON-LD fixtures: Loire and Tagus credentials, a Tagus VP, DSP messages, ODRL policies."""
    signed = sign_jws2020(
        tagus_participant(world.participant.did),
        world.participant.key,
        verification_method=world.participant.kid,
        created="2026-02-01T00:00:00Z",
    )
    docs: list[tuple[str, dict[str, Any]]] = [
        (f"loire-{i}", dict(c)) for i, c in enumerate(world.self_description.all())
    ]
    docs.append(("tagus", {k: v for k, v in signed.items() if k != "proof"}))
    docs.append(
        (
            "tagus-vp",
            {
                "@context": "https://www.w3.org/2018/credentials/v1",
                "type": "VerifiablePresentation",
                "verifiableCredential": [signed],
            },
        )
    )
    for path in sorted((FIXTURES / "dsp").glob("*.json")) + sorted((FIXTURES / "policies").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "@context" in document:
            docs.append((path.name, document))
    return docs


def _eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + GENEROUS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _outcome(run: Any) -> tuple[str, str]:
    try:
        return ("ok", run())
    except SelfDescriptionError as exc:
        return (type(exc).__name__, exc.code)


def test_worker_output_equals_in_process_output_on_the_fixtures(world: World) -> None:
    """Differential: RDFC-1.0 and plain N-Quads from the worker are byte-identical to the in-process functions."""
    documents = _documents(world)
    assert len(documents) >= 15
    with WorkerPool(workers=2) as pool:
        for name, document in documents:
            assert pool.canonicalize(document) == canonicalize(document), name
            assert pool.to_nquads(document) == to_nquads(document), name


def test_errors_come_back_with_the_in_process_type_and_code(pool: WorkerPool) -> None:
    cases: list[dict[str, Any]] = [
        {"@context": "https://attacker.example/context.jsonld", "@id": "urn:x", "name": "y"},  # not pinned
        {"@context": {"@vocab": "https://e.example/"}, "@id": "urn:x", "name": "bell\x07"},  # control character
        {"@context": {"name": "https://e.example/name"}, "@id": "urn:x", "undefined": "dropped"},  # safe mode
        {"@context": {"@vocab": 5}, "@id": "urn:x"},  # invalid JSON-LD
    ]
    for document in cases:
        expected = _outcome(lambda d=document: canonicalize(d))
        assert expected[0] != "ok"
        assert _outcome(lambda d=document: pool.canonicalize(d)) == expected
    with pytest.raises(UndefinedTermError):
        pool.canonicalize(cases[2])
    with pytest.raises(ContextNotAllowed):
        pool.canonicalize(cases[0])
    with pytest.raises(LimitExceeded):  # checked before anything is sent
        pool.canonicalize({"a": [{"b": 1} for _ in range(50)]}, limits=Limits(max_blank_nodes=10))
    assert pool.stats.calls == 5  # control characters and limits are checked here: nothing was sent


def test_poison_dataset_is_stopped_at_the_timeout_and_the_pool_recovers(pool: WorkerPool, world: World) -> None:
    normal = _documents(world)[0][1]
    assert pool.canonicalize(normal) == canonicalize(normal)
    [first] = pool.pids
    started = time.monotonic()
    with pytest.raises(CanonicalizationTimeout) as info:
        pool.canonicalize(poison_document())
    assert time.monotonic() - started < 1.0 + GENEROUS
    assert info.value.code == "canonicalization-timeout"
    assert "canonicalization exceeded 1 s (limit)" in info.value.message
    assert "too complex" in info.value.message
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(first, 0)
    assert pool.canonicalize(normal) == canonicalize(normal)
    assert pool.pids
    assert first not in pool.pids
    assert (pool.stats.timeouts, pool.stats.started) == (1, 2)


def test_timeout_can_be_chosen_per_call(pool: WorkerPool) -> None:
    started = time.monotonic()
    with pytest.raises(CanonicalizationTimeout) as info:
        pool.canonicalize(poison_document(), timeout=0.5)
    assert "exceeded 0.5 s" in info.value.message
    assert time.monotonic() - started < 0.5 + GENEROUS


async def test_worker_killed_during_a_call_is_an_error_at_once_and_the_pool_recovers(world: World) -> None:
    normal = _documents(world)[0][1]
    with WorkerPool(workers=1, timeout=120.0) as pool:
        pool.start()
        [pid] = pool.pids
        started = time.monotonic()
        call = asyncio.ensure_future(pool.canonicalize_async(poison_document()))
        assert await asyncio.to_thread(_eventually, lambda: pool.busy == 1)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(CanonicalizationWorkerError) as info:
            await call
        assert time.monotonic() - started < GENEROUS  # not the 120 s budget: end-of-file is noticed at once
        assert info.value.code == "canonicalization-worker-failed"
        assert "SIGKILL" in info.value.message
        assert await pool.canonicalize_async(normal) == canonicalize(normal)
        assert pid not in pool.pids
        assert pool.stats.crashes == 1


def test_worker_killed_while_idle_is_replaced_without_an_error(world: World) -> None:
    normal = _documents(world)[0][1]
    with WorkerPool(workers=1) as pool:
        pool.start()
        [pid] = pool.pids
        os.kill(pid, signal.SIGKILL)
        assert _eventually(lambda: pid not in pool.pids)
        assert pool.canonicalize(normal) == canonicalize(normal)
        assert pool.stats.crashes == 0


async def test_many_concurrent_async_calls_give_the_in_process_bytes(world: World) -> None:
    documents = [d for _, d in _documents(world)]
    expected = [canonicalize(d) for d in documents]
    with WorkerPool(workers=2) as pool:
        results = await asyncio.gather(*(pool.canonicalize_async(d) for d in documents * 4))
        assert results == expected * 4
        nquads = await asyncio.gather(*(pool.to_nquads_async(d) for d in documents))
        assert nquads == [to_nquads(d) for d in documents]
        assert len(pool.pids) == 2


async def test_the_event_loop_keeps_running_while_a_worker_works(pool: WorkerPool) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    with pytest.raises(CanonicalizationTimeout):
        await pool.canonicalize_async(poison_document())
    ticker.cancel()
    assert ticks > 5  # in process, the poison would have frozen the loop until it finished


def test_operator_contexts_reach_the_worker(tmp_path: Path) -> None:
    url = "https://contexts.example/custom.jsonld"
    context = tmp_path / "custom.jsonld"
    context.write_text(json.dumps({"@context": {"name": "https://one.example/name"}}), encoding="utf-8")
    loader = DocumentLoader({url: context})
    document = {"@context": url, "@id": "urn:x", "name": "value"}
    with WorkerPool(workers=1) as pool:
        assert pool.canonicalize(document, loader=loader) == canonicalize(document, loader=loader)
        assert "https://one.example/name" in pool.to_nquads(document, loader=loader)
        with pytest.raises(ContextNotAllowed):  # the default loader does not know it
            pool.canonicalize(document)


class _LockedLoader(DocumentLoader):
    """A loader holding something that cannot be pickled."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


def test_a_loader_that_cannot_be_sent_is_refused_and_the_worker_stays_usable(pool: WorkerPool) -> None:
    document = {"@context": {"@vocab": "https://e.example/"}, "@id": "urn:x", "name": "y"}
    with pytest.raises(CanonicalizationError) as info:
        pool.canonicalize(document, loader=_LockedLoader())
    assert info.value.code == "loader-not-transferable"
    assert pool.canonicalize(document) == canonicalize(document)
    assert pool.stats.started == 1


def test_closed_pool_ends_its_workers_and_refuses_calls() -> None:
    pool = WorkerPool(workers=2)
    pool.start()
    pids = pool.pids
    assert len(pids) == 2
    pool.close()
    pool.close()  # idempotent
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(CanonicalizationWorkerError):
        pool.canonicalize({"@context": {"@vocab": "https://e.example/"}, "@id": "urn:x", "name": "y"})


def test_in_process_and_default_pool_give_the_same_bytes(world: World) -> None:
    document = _documents(world)[0][1]
    assert InProcess().canonicalize(document) == default_pool().canonicalize(document) == canonicalize(document)


_EXIT_WHILE_BUSY = """
import threading, time
from self_descriptions.canonical_worker import WorkerPool
from tests.fixtures.self_descriptions.poison import poison_document
pool = WorkerPool(workers=1, timeout=600)
pool.start()
print(pool.pids[0], flush=True)
threading.Thread(target=lambda: pool.canonicalize(poison_document()), daemon=True).start()
while pool.busy == 0:
    time.sleep(0.01)
"""


def test_interpreter_exit_ends_a_busy_worker() -> None:
    """No close(): at exit the worker still canonicalizing a poison dataset is ended, not left running.

    Two mechanisms do it (this test cannot tell which acted first): the pool's finalizer (atexit) and
    multiprocessing's own termination of daemonic children."""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_WHILE_BUSY], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    assert _eventually(lambda: not _alive(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
