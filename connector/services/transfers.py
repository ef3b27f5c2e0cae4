"""Transfer processes, both roles (DSP 2025-1 §transfer; state machine in :mod:`connector.dsp.transfer`).

Provider: a TransferRequestMessage is accepted only for an agreement this connector made with the caller whose
negotiation is FINALIZED, after the agreement's policy permits in the ``transfer`` scope; it is idempotent on
``consumerPid``. Starting a pull transfer sends a ``DataAddress`` with the public endpoint and a short-lived token
bound to the transfer (dsp.md §transfers: ``endpointType`` ``https://w3id.org/idsa/v4.1/HTTP``,
``endpointProperties`` ``authorization`` + ``authType`` bearer). Push transfers are started, streamed by the data
plane to the consumer's ``dataAddress``, and completed (or terminated with the reason).

Consumer: requests a transfer for a FINALIZED agreement, stores the data address the provider starts it with.
Either side may suspend, resume, complete or terminate; each moves the state on the peer's ACK.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from connector.dataplane.access_tokens import issue_access_token
from connector.domain import ClaimsSnapshot, Negotiation, OutboxStatus, ProcessError, ProcessKind, TransferProcess
from connector.dsp import (
    DataAddress,
    DspError,
    InvalidTransition,
    ProcessNotFound,
    TransferCompletionMessage,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
    paths,
)
from connector.dsp import (
    TransferProcess as WireTransferProcess,
)
from connector.dsp import transfer as machine
from connector.dsp.states import NegotiationState, Role, TransferMessageKind, TransferState
from connector.errors import ConnectorError
from connector.services.caller import Caller
from connector.services.conflicts import reapplied_on_conflict
from connector.services.events import Event
from connector.services.negotiations import implied_ack
from connector.services.outbox import send, transfer_message
from connector.services.runtime import Runtime
from connector.services.usage.world import usage_world
from connector.store.protocols import Transaction
from policies import Request

K = TransferMessageKind
S = TransferState
PULL = "HttpData-PULL"
PUSH = "HttpData-PUSH"
FORMATS = (PULL, PUSH)
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"

#: The state a message kind leads to: a repeat in that state (its ACK lost, e.g. with a crash) is acknowledged.
_RESULT = {K.START: S.STARTED, K.SUSPENSION: S.SUSPENDED, K.COMPLETION: S.COMPLETED}


class TransferRefused(DspError):
    """The transfer request cannot be accepted (unknown agreement, unsupported format): 400."""


def _wire(t: TransferProcess) -> WireTransferProcess:
    return WireTransferProcess(provider_pid=t.provider_pid or "", consumer_pid=t.consumer_pid or "", state=t.state)


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


class Transfers:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _publish(self, t: TransferProcess) -> None:
        self.rt.events.publish(Event("transfer", t.id, t.state.value, self.rt.now(), transfer_json(t)))

    async def _owned(self, tx: Transaction, role: Role, pid: str, caller: Caller) -> TransferProcess:
        found = (
            await tx.transfers.find_by_provider_pid(role, pid)
            if role is Role.PROVIDER
            else await tx.transfers.find_by_consumer_pid(role, pid)
        )
        if found is None or found.counter_party_id != caller.did:
            raise ProcessNotFound(f"no transfer process {pid!r} with you")
        return found

    async def _receive(
        self, tx: Transaction, t: TransferProcess, kind: K, sender: Role
    ) -> tuple[TransferProcess, bool]:
        try:
            state = machine.next_state(t.state, sender=sender, kind=kind)
        except InvalidTransition:
            if _RESULT.get(kind) is t.state:
                return t, False
            acked = await self._implied_ack(tx, t)
            if acked is None:
                fresh = await tx.transfers.get(t.id)  # our ACK processing may have committed meanwhile
                if fresh.version != t.version:
                    return await self._receive(tx, fresh, kind, sender)
                raise
            state = machine.next_state(acked.state, sender=sender, kind=kind)
            t = acked
        return t.evolve(state=state, updated_at=self.rt.now()), True

    async def _implied_ack(self, tx: Transaction, t: TransferProcess) -> TransferProcess | None:
        """The peer answered a message of ours whose ACK we have not applied (lost with a crash, or still in
        flight): apply that message's transition and mark it sent (see ``Negotiations._implied_ack``)."""
        page = await tx.outbox.list(process_kind=ProcessKind.TRANSFER, process_id=t.id, status=OutboxStatus.PENDING)
        for message in sorted(page.items, key=lambda m: m.created_at):
            try:
                state = machine.next_state(t.state, sender=t.role, kind=message.message_type)
            except InvalidTransition:
                return None
            await tx.outbox.mark_sent(message.id)
            return t.evolve(state=state, updated_at=self.rt.now())
        return None

    # -- provider: inbound -------------------------------------------------------------------------------------

    @reapplied_on_conflict
    async def on_request(self, caller: Caller, msg: TransferRequestMessage) -> tuple[WireTransferProcess, int]:
        """``POST /transfers/request`` (201): check the agreement and the transfer-scope policy, then start."""
        if msg.format not in FORMATS:
            raise TransferRefused(
                f"format {msg.format!r} is not supported; use {' or '.join(FORMATS)}", code="unsupported-format"
            )
        if msg.format == PUSH and (msg.data_address is None or not msg.data_address.endpoint):
            raise TransferRefused("a push transfer needs a dataAddress with an endpoint", code="missing-data-address")
        now = self.rt.now()
        async with self.rt.store.transaction() as tx:
            existing = await tx.transfers.find_by_consumer_pid(Role.PROVIDER, msg.consumer_pid)
            if existing is not None:
                if existing.counter_party_id != caller.did:
                    raise TransferRefused("consumerPid already in use", code="duplicate-pid")
                return _wire(existing), 201
            agreement = await tx.agreements.find(msg.agreement_id)
            if (
                agreement is None
                or agreement.consumer_id != caller.did
                or agreement.provider_id != self.rt.identity.did
            ):
                raise TransferRefused(f"no agreement {msg.agreement_id!r} with you", code="unknown-agreement")
            negotiation = await tx.negotiations.get(agreement.negotiation_id)
            if negotiation.state is NegotiationState.VERIFIED:
                # The consumer asks for a transfer, so it has our FINALIZED event although we have not applied
                # its ACK yet (the request may overtake it): the ACK is implied.
                acked = await implied_ack(self.rt, tx, negotiation)
                if acked is not None:
                    negotiation = await tx.negotiations.update(acked)
                else:
                    # No pending FINALIZED: our ACK processing committed after we read the negotiation (PostgreSQL
                    # runs both concurrently; the bench saw this refused), so judge by the current state.
                    negotiation = await tx.negotiations.get(negotiation.id)
            if negotiation.state is not NegotiationState.FINALIZED:
                raise TransferRefused(
                    f"agreement {msg.agreement_id} is not finalized (negotiation {negotiation.state})",
                    code="agreement-not-final",
                )
            t = TransferProcess(
                id=new_pid(),
                role=Role.PROVIDER,
                consumer_pid=msg.consumer_pid,
                provider_pid=new_pid(),
                agreement_id=agreement.id,
                asset_id=agreement.asset_id,
                counter_party_id=caller.did,
                counter_party_address=msg.callback_address,
                callback_address=msg.callback_address,
                format=msg.format,
                state=machine.next_state(None, sender=Role.CONSUMER, kind=K.REQUEST),
                data_address=msg.data_address.to_wire() if msg.data_address is not None else None,
                created_at=now,
                updated_at=now,
            )
            await tx.transfers.add(t)
            # usage constraints that can be decided already (count, elapsed time) are, with the live world
            world = await usage_world(tx, agreement, now=now, claims=dict(caller.claims.claims))
            report = self.rt.policies.evaluate(
                agreement.policy,
                "transfer",
                Request(action="use", target=agreement.asset_id, party=caller.did),
                world,
            )
            await tx.usage.save_claims(
                ClaimsSnapshot(transfer_id=t.id, consumer=caller.did, claims=dict(caller.claims.claims), seen_at=now)
            )
            if report.decision != "permit":
                details = {"report": report.to_json(), "credential_problems": list(caller.claims.problems)}
                reason = caller.claims.explained(report.reason)
                t = await self._terminate(tx, t, code="policy-denied", reason=reason, details=details)
            elif self.rt.behaviour.auto_start_transfers:
                t = await self._start(tx, t, negotiation)
            else:
                t = await tx.transfers.update(t.evolve(pending=True))
        self._publish(t)
        return _wire(t), 201

    async def _start(
        self, tx: Transaction, t: TransferProcess, negotiation: Negotiation | None = None
    ) -> TransferProcess:
        """Send TransferStartMessage (STARTED on the ACK); a pull start carries the endpoint and a fresh token."""
        address: DataAddress | None = None
        if t.format == PULL:
            token, expires = issue_access_token(
                self.rt.identity.key,
                issuer=self.rt.identity.did,
                transfer_id=t.provider_pid or "",
                agreement_id=t.agreement_id,
                consumer=t.counter_party_id,
                now=self.rt.now(),
                ttl=self.rt.behaviour.access_token_ttl,
            )
            address = DataAddress.model_validate(
                {
                    "endpointType": HTTP_ENDPOINT_TYPE,
                    "endpoint": f"{self.rt.behaviour.dataplane_url}/transfers/{t.provider_pid}",
                    "endpointProperties": [
                        {"@type": "EndpointProperty", "name": "authorization", "value": token},
                        {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
                        {"@type": "EndpointProperty", "name": "expiresAt", "value": expires.isoformat()},
                        {
                            "@type": "EndpointProperty",
                            "name": "refreshEndpoint",
                            "value": f"{self.rt.behaviour.dataplane_url}/token",
                        },
                    ],
                }
            )
        message = TransferStartMessage(
            provider_pid=t.provider_pid or "", consumer_pid=t.consumer_pid or "", data_address=address
        )
        t = await tx.transfers.update(t.evolve(pending=False))
        await send(self.rt, tx, t, transfer_message(self.rt, t, message, paths.CALLBACK_TRANSFER_START))
        return t

    async def _terminate(
        self, tx: Transaction, t: TransferProcess, *, code: str, reason: str, details: dict[str, Any] | None = None
    ) -> TransferProcess:
        t = await tx.transfers.update(
            t.evolve(error=ProcessError(code=code, reason=reason, details=details or {}), pending=False)
        )
        message = TransferTerminationMessage(
            provider_pid=t.provider_pid or "", consumer_pid=t.consumer_pid or "", code=code, reason=[reason]
        )
        path = paths.CALLBACK_TRANSFER_TERMINATION if t.role is Role.PROVIDER else paths.TRANSFER_TERMINATION
        await send(self.rt, tx, t, transfer_message(self.rt, t, message, path))
        return t

    # -- both roles: inbound -----------------------------------------------------------------------------------

    @reapplied_on_conflict
    async def on_message(
        self,
        caller: Caller,
        role: Role,
        pid: str,
        msg: TransferStartMessage | TransferSuspensionMessage | TransferCompletionMessage | TransferTerminationMessage,
    ) -> WireTransferProcess:
        """Start/resume, suspension, completion or termination from the counter-party."""
        sender = Role.CONSUMER if role is Role.PROVIDER else Role.PROVIDER
        async with self.rt.store.transaction() as tx:
            t = await self._owned(tx, role, pid, caller)
            t = _same_pids(t, msg.consumer_pid, msg.provider_pid)
            t, changed = await self._receive(tx, t, msg.kind, sender)
            if changed:
                if isinstance(msg, TransferStartMessage) and msg.data_address is not None:
                    t = t.evolve(data_address=msg.data_address.to_wire())
                if isinstance(msg, TransferSuspensionMessage | TransferTerminationMessage):
                    reason = "; ".join(str(r) for r in msg.reason or []) or f"{msg.kind} by the counter-party"
                    t = t.evolve(
                        error=ProcessError(code=msg.code or "by-peer", reason=reason, details={"by": caller.did})
                    )
                t = await tx.transfers.update(t)
                if isinstance(msg, TransferStartMessage) and role is Role.PROVIDER and t.format == PULL:
                    # the consumer resumed a suspended pull: hand it a fresh token (STARTED is reached already)
                    t = await self._start(tx, t)
        self._publish(t)
        return _wire(t)

    async def get(self, caller: Caller, role: Role, pid: str) -> WireTransferProcess:
        async with self.rt.store.transaction() as tx:
            return _wire(await self._owned(tx, role, pid, caller))

    # -- management ----------------------------------------------------------------------------------------------

    async def start(
        self,
        *,
        agreement_id: str,
        format: str = PULL,
        data_address: Mapping[str, Any] | None = None,
        inbox: Callable[[str, str, str], Mapping[str, Any]] | None = None,
    ) -> TransferProcess:
        """Consumer: request a transfer under a finalized agreement. A push without ``data_address`` goes to our
        own inbox: ``inbox(consumer_pid, agreement_id, provider_did)`` builds its DataAddress."""
        if format not in FORMATS:
            raise ConnectorError(f"format {format!r} is not supported; use {' or '.join(FORMATS)}", code="bad-format")
        now = self.rt.now()
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(agreement_id)
            negotiation = await tx.negotiations.get(agreement.negotiation_id)
            if negotiation.role is not Role.CONSUMER:
                raise ConnectorError("transfers are requested by the consumer of an agreement", code="not-consumer")
            if negotiation.state is not NegotiationState.FINALIZED:
                raise ConnectorError(
                    f"agreement's negotiation is {negotiation.state}, not FINALIZED", code="agreement-not-final"
                )
            consumer_pid = new_pid()
            if format == PUSH and not data_address:
                if inbox is None:
                    raise ConnectorError("a push transfer needs a dataAddress to push to", code="missing-data-address")
                data_address = inbox(consumer_pid, agreement.id, negotiation.counter_party_id)
            t = TransferProcess(
                id=new_pid(),
                role=Role.CONSUMER,
                consumer_pid=consumer_pid,
                agreement_id=agreement.id,
                asset_id=agreement.asset_id,
                counter_party_id=negotiation.counter_party_id,
                counter_party_address=negotiation.counter_party_address,
                callback_address=self.rt.callback_address,
                format=format,
                state=S.REQUESTED,
                data_address=dict(data_address) if data_address else None,
                created_at=now,
                updated_at=now,
            )
            message = TransferRequestMessage(
                consumer_pid=t.consumer_pid or "",
                agreement_id=agreement.id,
                format=format,
                callback_address=self.rt.callback_address,
                data_address=DataAddress.model_validate(data_address) if data_address else None,
            )
            await tx.transfers.add(t)
            await send(self.rt, tx, t, transfer_message(self.rt, t, message, paths.TRANSFER_REQUEST))
        self._publish(t)
        return t

    async def terminate(
        self, transfer_id: str, *, code: str, reason: str, details: dict[str, Any] | None = None
    ) -> TransferProcess:
        """Terminate on this connector's own decision (policy monitor, failed push): TransferTerminationMessage
        with ``code`` and ``reason`` (TERMINATED on the peer's ACK); a terminal transfer is returned as it is."""
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.get(transfer_id)
            if t.state.terminal:
                return t
            t = await self._terminate(tx, t, code=code, reason=reason, details=details)
        self._publish(t)
        return t

    async def act(self, transfer_id: str, action: str, reason: str | None = None) -> TransferProcess:
        """Operator action: ``suspend``, ``resume``, ``complete`` or ``terminate`` (state moves on the ACK)."""
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.get(transfer_id)
            provider = t.role is Role.PROVIDER
            pids = {"provider_pid": t.provider_pid or "", "consumer_pid": t.consumer_pid or ""}
            if t.state.terminal:
                raise ConnectorError(f"transfer is already {t.state}", code="invalid-state")
            if action == "terminate":
                t = await self._terminate(tx, t, code="terminated-by-operator", reason=reason or "terminated")
            else:
                message: TransferSuspensionMessage | TransferCompletionMessage | TransferStartMessage
                if action == "suspend":
                    message = TransferSuspensionMessage(
                        **pids, code="suspended-by-operator", reason=[reason or "suspended"]
                    )
                    path = paths.CALLBACK_TRANSFER_SUSPENSION if provider else paths.TRANSFER_SUSPENSION
                elif action == "complete":
                    message = TransferCompletionMessage(**pids)
                    path = paths.CALLBACK_TRANSFER_COMPLETION if provider else paths.TRANSFER_COMPLETION
                elif action == "resume":
                    if provider:
                        t = await self._start(tx, t)
                        self._publish(t)
                        return t
                    message = TransferStartMessage(**pids)
                    path = paths.TRANSFER_START
                else:
                    raise ConnectorError(f"unknown action {action!r}", code="bad-action")
                machine.next_state(t.state, sender=t.role, kind=message.kind)  # refuse what the peer would refuse
                await send(self.rt, tx, t, transfer_message(self.rt, t, message, path))
        self._publish(t)
        return t


def _same_pids(t: TransferProcess, consumer_pid: str | None, provider_pid: str | None) -> TransferProcess:
    """Check the message's pids; a providerPid we have not recorded yet (the ACK of our request was lost, e.g.
    with a crash) is learned from the provider's message, so our answers reach the right process."""
    if consumer_pid is not None and t.consumer_pid is not None and consumer_pid != t.consumer_pid:
        raise InvalidTransition(f"consumerPid {consumer_pid!r} does not belong to this transfer")
    if provider_pid is not None and t.provider_pid is not None and provider_pid != t.provider_pid:
        raise InvalidTransition(f"providerPid {provider_pid!r} does not belong to this transfer")
    if t.provider_pid is None and provider_pid:
        return t.evolve(provider_pid=provider_pid)
    return t


def transfer_json(t: TransferProcess) -> dict[str, Any]:
    return {
        "id": t.id,
        "role": t.role.value,
        "state": t.state.value,
        "consumerPid": t.consumer_pid,
        "providerPid": t.provider_pid,
        "agreementId": t.agreement_id,
        "assetId": t.asset_id,
        "counterPartyId": t.counter_party_id,
        "format": t.format,
        "dataAddress": t.data_address,
        "pending": t.pending,
        "error": t.error.model_dump() if t.error else None,
        "createdAt": t.created_at.isoformat(),
        "updatedAt": t.updated_at.isoformat(),
    }
