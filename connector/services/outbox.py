"""Outbound DSP messages as persisted intent (house rule 2): built here, enqueued with the state change, sent by
the worker, and applied (the state moves) only when the peer ACKs.

``message_type`` stores the message *kind* (:class:`~connector.dsp.states.NegotiationMessageKind` /
``TransferMessageKind``), so the worker can compute the state after the ACK with the same transition table the
receiver uses.
"""

from __future__ import annotations

import uuid
from typing import Any

from connector.domain import Negotiation, OutboxMessage, ProcessKind, TransferProcess
from connector.dsp import encode_message, paths
from connector.dsp.wire import DspModel
from connector.services.runtime import Runtime


def negotiation_message(rt: Runtime, negotiation: Negotiation, message: DspModel, path: str) -> OutboxMessage:
    """A message to the counter-party of ``negotiation`` at ``path`` (a template of :mod:`connector.dsp.paths`)."""
    return _message(rt, ProcessKind.NEGOTIATION, negotiation, message, path)


def transfer_message(rt: Runtime, transfer: TransferProcess, message: DspModel, path: str) -> OutboxMessage:
    return _message(rt, ProcessKind.TRANSFER, transfer, message, path)


def _message(
    rt: Runtime, kind: ProcessKind, process: Negotiation | TransferProcess, message: DspModel, path: str
) -> OutboxMessage:
    params: dict[str, str] = {}
    if "{consumerPid}" in path:
        params["consumerPid"] = process.consumer_pid or ""
    if "{providerPid}" in path:
        params["providerPid"] = process.provider_pid or ""
    address = process.counter_party_address
    now = rt.now()
    body: dict[str, Any] = encode_message(message)
    return OutboxMessage(
        id=f"urn:uuid:{uuid.uuid4()}",
        process_kind=kind,
        process_id=process.id,
        message_type=str(getattr(message, "kind")),  # noqa: B009 - every process message model has .kind
        target_url=paths.join(address, paths.fill(path, **params)),
        body=body,
        next_attempt_at=now,
        created_at=now,
    )
