"""What happens when the peer answers one of our outbound messages (house rule 2: state moves only on the ACK).

- ACK (2xx): the message is marked sent and the process moves by the same transition table the peer applied
  (sender = us). The ACK of an initial request carries the peer's pid, which we record.
- Rejected (a 4xx other than 404/408/409/425/429): the peer will never accept it; our states diverged, so the process
  is TERMINATED with the peer's code and reason and a termination is sent where that still makes sense.
- Undeliverable after the retry limit: the same, with the last transport error as the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from connector.domain import Agreement, Negotiation, OutboxMessage, ProcessError, ProcessKind, TransferProcess
from connector.dsp import (
    ContractNegotiationTerminationMessage,
    InvalidTransition,
    TransferTerminationMessage,
    paths,
)
from connector.dsp import negotiation as negotiation_machine
from connector.dsp import transfer as transfer_machine
from connector.dsp.states import NegotiationMessageKind, NegotiationState, Role, TransferMessageKind, TransferState
from connector.peer.client import PeerResponse
from connector.services.dispatch import Route
from connector.services.events import Event
from connector.services.negotiations import negotiation_json
from connector.services.outbox import complete, negotiation_message, send, transfer_message
from connector.services.runtime import Runtime
from connector.services.transfers import transfer_json
from connector.store.errors import NotFound
from connector.store.protocols import Transaction

log = logging.getLogger(__name__)

#: Answers that may succeed later: the peer has not caught up (404 during async state changes, as the TCK notes),
#: is overloaded, or timed out.
RETRYABLE_STATUS = frozenset({404, 408, 409, 425, 429})

NO_PID = "the provider's ACK carries no providerPid"

StartedHook = Callable[[TransferProcess], Awaitable[None]]


class Delivery:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        #: Called after a provider's push transfer reached STARTED (the data plane streams then).
        self.on_push_started: StartedHook | None = None

    # -- sending ---------------------------------------------------------------------------------------------

    async def route_in(self, tx: Transaction, message: OutboxMessage) -> Route | None:
        """Where ``message`` goes, read inside ``tx`` (the worker's claim: no transaction of its own): the peer's DID
        (the audience of our self-issued token) and the message completed with the pids its process learned since
        it was enqueued; None when the process no longer exists."""
        try:
            process = await _process(tx, message)
        except NotFound:
            return None
        return Route(process.counter_party_id, complete(message, process))

    # -- outcomes ----------------------------------------------------------------------------------------------

    async def delivered(self, message: OutboxMessage, response: PeerResponse, *, owner: str) -> None:
        events: list[Event] = []
        async with self.rt.store.transaction() as tx:
            await tx.outbox.mark_sent(message.id, owner=owner)
            waiting = await tx.outbox.has_pending(message.process_kind, message.process_id)
            process = await _process(tx, message)
            if isinstance(process, Negotiation):
                updated = await self._negotiation_acked(tx, process, message, response.body)
                if updated is not None:
                    events.append(
                        Event("negotiation", updated.id, updated.state.value, self.rt.now(), negotiation_json(updated))
                    )
            else:
                moved = await self._transfer_acked(tx, process, message, response.body)
                if moved is not None:
                    events.append(Event("transfer", moved.id, moved.state.value, self.rt.now(), transfer_json(moved)))
                    process = moved
        for event in events:
            self.rt.events.publish(event)
        if waiting:  # the next message of this process is due now (one at a time per process)
            self.rt.outbox_ready.set()
        if (
            isinstance(process, TransferProcess)
            and process.role is Role.PROVIDER
            and process.state is TransferState.STARTED
            and message.message_type == TransferMessageKind.START
            and process.format == "HttpData-PUSH"
            and self.on_push_started is not None
        ):
            await self.on_push_started(process)

    async def _negotiation_acked(
        self, tx: Transaction, n: Negotiation, message: OutboxMessage, body: Any
    ) -> Negotiation | None:
        kind = message.message_type
        if kind == NegotiationMessageKind.REQUEST and n.provider_pid is None:
            provider_pid = body.get("providerPid") if isinstance(body, Mapping) else None
            if not isinstance(provider_pid, str) or not provider_pid:
                return await self._fail_negotiation(tx, n, ProcessError(code="bad-ack", reason=NO_PID))
            return await tx.negotiations.update(n.evolve(provider_pid=provider_pid, updated_at=self.rt.now()))
        try:
            state = negotiation_machine.next_state(n.state, sender=n.role, kind=kind)
        except InvalidTransition:
            log.info("stale ACK ignored", extra={"negotiation": n.id, "state": n.state.value, "kind": kind})
            return None
        n = await tx.negotiations.update(n.evolve(state=state, updated_at=self.rt.now()))
        if state is NegotiationState.AGREED and n.role is Role.PROVIDER and n.agreement is not None:
            await tx.agreements.add(
                Agreement(
                    id=n.agreement_id or str(n.agreement.get("@id")),
                    negotiation_id=n.id,
                    asset_id=n.asset_id,
                    provider_id=self.rt.identity.did,
                    consumer_id=n.counter_party_id,
                    policy=dict(n.agreement),
                    signed_at=n.updated_at,
                )
            )
        return n

    async def _transfer_acked(
        self, tx: Transaction, t: TransferProcess, message: OutboxMessage, body: Any
    ) -> TransferProcess | None:
        kind = message.message_type
        if kind == TransferMessageKind.REQUEST and t.provider_pid is None:
            provider_pid = body.get("providerPid") if isinstance(body, Mapping) else None
            if not isinstance(provider_pid, str) or not provider_pid:
                return await self._fail_transfer(tx, t, ProcessError(code="bad-ack", reason=NO_PID))
            return await tx.transfers.update(t.evolve(provider_pid=provider_pid, updated_at=self.rt.now()))
        try:
            state = transfer_machine.next_state(t.state, sender=t.role, kind=kind)
        except InvalidTransition:
            if kind == TransferMessageKind.START and t.state is TransferState.STARTED:
                return None  # a token refresh start (resume) in STARTED
            log.info("stale ACK ignored", extra={"transfer": t.id, "state": t.state.value, "kind": kind})
            return None
        return await tx.transfers.update(t.evolve(state=state, updated_at=self.rt.now()))

    async def rejected(self, message: OutboxMessage, response: PeerResponse, *, owner: str) -> None:
        code, reason = _peer_error(response)
        await self._give_up(message, code=code, reason=reason, owner=owner, details={"status": response.status})

    async def undeliverable(self, message: OutboxMessage, error: str, *, owner: str) -> None:
        await self._give_up(message, code="delivery-failed", reason=error, owner=owner, details={})

    async def _give_up(
        self, message: OutboxMessage, *, code: str, reason: str, owner: str, details: dict[str, Any]
    ) -> None:
        event: Event | None = None
        async with self.rt.store.transaction() as tx:
            await tx.outbox.mark_failed(message.id, error=f"{code}: {reason}", owner=owner)
            process = await _process(tx, message)
            if process.state.terminal:
                return
            details = {**details, "message": message.message_type, "target": message.target_url}
            updated = await self._fail_process(tx, process, code, f"{message.message_type}: {reason}", details)
            event = _event(self.rt, updated)
            if (
                not message.message_type.endswith("TerminationMessage")
                and process.provider_pid
                and process.consumer_pid
            ):
                # Tell the peer, where possible, that we consider the process terminated (states diverged).
                await send(self.rt, tx, updated, _termination(self.rt, updated, code, reason))
        if event is not None:
            self.rt.events.publish(event)

    async def still_terminating(
        self, message: OutboxMessage, *, error: str, next_attempt_at: dt.datetime, owner: str
    ) -> None:
        """A termination that reached the retry limit while the peer is unavailable: the process ends here (it is
        our decision; the peer cannot object) and the message is retried at ``next_attempt_at``."""
        event: Event | None = None
        async with self.rt.store.transaction() as tx:
            await tx.outbox.reschedule(message.id, next_attempt_at=next_attempt_at, error=error, owner=owner)
            process = await _process(tx, message)
            if not process.state.terminal:
                reason = f"{message.message_type} not delivered yet (still retrying): {error}"
                failure = process.error or ProcessError(code="termination-pending", reason=reason)
                updated = await self._fail_process(tx, process, failure.code, failure.reason, failure.details)
                event = _event(self.rt, updated)
        if event is not None:
            self.rt.events.publish(event)

    async def _fail_process(
        self,
        tx: Transaction,
        process: Negotiation | TransferProcess,
        code: str,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> Negotiation | TransferProcess:
        error = ProcessError(code=code, reason=reason, details=details or {})
        if isinstance(process, Negotiation):
            return await self._fail_negotiation(tx, process, error)
        return await self._fail_transfer(tx, process, error)

    async def _fail_negotiation(self, tx: Transaction, n: Negotiation, error: ProcessError) -> Negotiation:
        return await tx.negotiations.update(
            n.evolve(state=NegotiationState.TERMINATED, error=error, pending=False, updated_at=self.rt.now())
        )

    async def _fail_transfer(self, tx: Transaction, t: TransferProcess, error: ProcessError) -> TransferProcess:
        return await tx.transfers.update(
            t.evolve(state=TransferState.TERMINATED, error=error, pending=False, updated_at=self.rt.now())
        )


async def _process(tx: Transaction, message: OutboxMessage) -> Negotiation | TransferProcess:
    if message.process_kind is ProcessKind.NEGOTIATION:
        return await tx.negotiations.get(message.process_id)
    return await tx.transfers.get(message.process_id)


def _peer_error(response: PeerResponse) -> tuple[str, str]:
    body = response.body
    if isinstance(body, Mapping):
        code = body.get("code")
        reasons = body.get("reason")
        text = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else str(reasons or "")
        return (str(code) if code else f"http-{response.status}", text or f"the peer answered HTTP {response.status}")
    return f"http-{response.status}", f"the peer answered HTTP {response.status}: {response.text[:200]}"


def _termination(rt: Runtime, process: Negotiation | TransferProcess, code: str, reason: str) -> OutboxMessage:
    pids = {"provider_pid": process.provider_pid or "", "consumer_pid": process.consumer_pid or ""}
    if isinstance(process, Negotiation):
        path = (
            paths.CALLBACK_NEGOTIATION_TERMINATION if process.role is Role.PROVIDER else paths.NEGOTIATION_TERMINATION
        )
        return negotiation_message(
            rt, process, ContractNegotiationTerminationMessage(**pids, code=code, reason=[reason]), path
        )
    path = paths.CALLBACK_TRANSFER_TERMINATION if process.role is Role.PROVIDER else paths.TRANSFER_TERMINATION
    return transfer_message(rt, process, TransferTerminationMessage(**pids, code=code, reason=[reason]), path)


def _event(rt: Runtime, process: Negotiation | TransferProcess) -> Event:
    if isinstance(process, Negotiation):
        return Event("negotiation", process.id, process.state.value, rt.now(), negotiation_json(process))
    return Event("transfer", process.id, process.state.value, rt.now(), transfer_json(process))
