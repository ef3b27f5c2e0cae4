"""Outbound DSP messages as persisted intent (house rule 2): built here, enqueued with the state change, sent by
the worker, and applied (the state moves) only when the peer ACKs.

``message_type`` stores the message *kind* (:class:`~connector.dsp.states.NegotiationMessageKind` /
``TransferMessageKind``), so the worker can compute the state after the ACK with the same transition table the
receiver uses.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from typing import Any

from connector.domain import Negotiation, OutboxMessage, ProcessKind, TransferProcess
from connector.dsp import encode_message, paths
from connector.dsp.wire import DspModel
from connector.services.dispatch import Route
from connector.services.runtime import Runtime
from connector.store.protocols import Transaction


async def send(rt: Runtime, tx: Transaction, process: Negotiation | TransferProcess, message: OutboxMessage) -> None:
    """Enqueue ``message`` of ``process`` in ``tx``. When it is the next of its process (none pending before it) and
    an outbox worker runs here, it is written leased to that worker and handed over once ``tx`` commits
    (``services.dispatch``); otherwise the worker is told to claim once ``tx`` commits, and claims it in turn."""
    dispatcher = rt.dispatcher
    if dispatcher is None or await tx.outbox.has_pending(message.process_kind, message.process_id):
        await tx.outbox.enqueue(message)
        tx.after_commit(rt.outbox_ready.set)
        return
    leased = message.evolve(
        lease_owner=dispatcher.owner,
        lease_expires_at=rt.now() + dt.timedelta(seconds=dispatcher.lease_seconds),
        attempts=message.attempts + 1,
    )
    await tx.outbox.enqueue(leased)
    route = Route(process.counter_party_id, complete(leased, process))
    tx.after_commit(lambda: dispatcher.handoff(route))


def negotiation_message(rt: Runtime, negotiation: Negotiation, message: DspModel, path: str) -> OutboxMessage:
    """A message to the counter-party of ``negotiation`` at ``path`` (a template of :mod:`connector.dsp.paths`)."""
    return _message(rt, ProcessKind.NEGOTIATION, negotiation, message, path)


def transfer_message(rt: Runtime, transfer: TransferProcess, message: DspModel, path: str) -> OutboxMessage:
    return _message(rt, ProcessKind.TRANSFER, transfer, message, path)


def _message(
    rt: Runtime, kind: ProcessKind, process: Negotiation | TransferProcess, message: DspModel, path: str
) -> OutboxMessage:
    # A pid we do not know yet (the peer's ACK of our request has not arrived: e.g. an operator terminates right
    # after starting) stays a placeholder in the URL and "" in the body; :func:`complete` fills it at delivery.
    known = {name: value for name, value in _pids(process).items() if value and "{" + name + "}" in path}
    address = process.counter_party_address
    now = rt.now()
    body: dict[str, Any] = encode_message(message)
    return OutboxMessage(
        id=message_id(),
        process_kind=kind,
        process_id=process.id,
        message_type=str(getattr(message, "kind")),  # noqa: B009 - every process message model has .kind
        target_url=paths.join(address, paths.fill(path, partial=True, **known)),
        body=body,
        next_attempt_at=now,
        created_at=now,
    )


def complete(message: OutboxMessage, process: Negotiation | TransferProcess) -> OutboxMessage:
    """``message`` with the pids that were unknown when it was enqueued and that ``process`` knows now."""
    pids = _pids(process)
    fill = {name: pids[name] for name in paths.placeholders(message.target_url) if pids.get(name)}
    body = {name: pids[name] for name in pids if message.body.get(name) == "" and pids[name]}
    if not fill and not body:
        return message
    return message.evolve(
        target_url=paths.fill(message.target_url, partial=True, **fill), body={**message.body, **body}
    )


def missing_pids(message: OutboxMessage) -> list[str]:
    """The pids ``message`` still lacks (it cannot be delivered without them)."""
    return paths.placeholders(message.target_url)


def _pids(process: Negotiation | TransferProcess) -> dict[str, str]:
    return {"consumerPid": process.consumer_pid or "", "providerPid": process.provider_pid or ""}


_last_ms = 0
_sequence = 0
_lock = threading.Lock()


def message_id() -> str:
    """A UUIDv7 URN (RFC 9562 §5.7) that sorts after every id this process made before (§6.2 method 1: a 12-bit
    counter in ``rand_a`` within one millisecond). The outbox delivers a process's messages in (``created_at``,
    ``id``) order, and ``created_at`` ties when several messages are enqueued at one clock reading."""
    global _last_ms, _sequence
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _sequence = ms, 0
        else:
            _sequence += 1
            if _sequence > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _sequence = _last_ms + 1, 0
        ms, sequence = _last_ms, _sequence
    rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (sequence << 64) | (0b10 << 62) | rand_b
    return f"urn:uuid:{uuid.UUID(int=value)}"
