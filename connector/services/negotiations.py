"""Contract negotiation, both roles (DSP 2025-1 §negotiation; state machine in :mod:`connector.dsp.negotiation`).

Inbound messages are handled in one transaction each: find the process (by our pid, owned by the caller — anyone
else gets 404, DSP 2025-1: unknown *or unauthorized*), check the transition, store the new state and enqueue
whatever we answer, then ACK. Outbound messages change our state only when the peer ACKs them
(:mod:`connector.services.delivery`). A repeated message (same kind, state already reached) is acknowledged with the
current state instead of failing, except a second ContractRequestMessage, which the protocol forbids (TCK CN:03-04).

Provider decisions: the requested offer must be one of ours (its ``@id`` names a contract definition, asset and
policy digest), visible to the caller (access policy, ``catalog`` scope) and semantically equal to our offer
(:func:`policies.equivalent`, never textual); then the contract policy is evaluated in the ``negotiation`` scope
over the caller's verified claims. A permit leads to an agreement (or waits for an operator when auto-agreement is
off); a deny terminates the negotiation with the reason in words and as data (which rule, which constraint, the
actual value), so both sides can show why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from connector.domain import Agreement, Negotiation, OutboxStatus, ProcessError, ProcessKind
from connector.dsp import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiation,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    DspError,
    InvalidTransition,
    ProcessNotFound,
    paths,
)
from connector.dsp import negotiation as machine
from connector.dsp.states import NegotiationEventType, NegotiationMessageKind, NegotiationState, Role
from connector.errors import ConnectorError
from connector.services.caller import Caller
from connector.services.conflicts import reapplied_on_conflict
from connector.services.events import Event
from connector.services.offers import OfferNotFound, dsp_offer, offer_id, parse_offer_id
from connector.services.outbox import negotiation_message, send
from connector.services.runtime import Runtime
from connector.store.errors import NotFound
from connector.store.protocols import Transaction
from policies import PolicyError, Request, World, equivalent, make_agreement, to_jsonld

K = NegotiationMessageKind
S = NegotiationState

#: The state a message kind leads to: a repeat in that state is acknowledged, not an error.
_RESULT = {
    K.OFFER: S.OFFERED,
    K.AGREEMENT: S.AGREED,
    K.VERIFICATION: S.VERIFIED,
    K.ACCEPTED: S.ACCEPTED,
    K.FINALIZED: S.FINALIZED,
}
#: Later states that prove a message kind was applied already, since the machine cannot reach them without it
#: (DSP 2025-1 §negotiation state machine: VERIFIED and FINALIZED only follow AGREED, FINALIZED only follows
#: VERIFIED). A late duplicate (our ACK lost with a crash, or a send retried while the first attempt was still
#: in flight) is acknowledged with the current state: answered 400, it would make its sender terminate a
#: negotiation both sides completed.
_PASSED = {
    K.AGREEMENT: frozenset({S.VERIFIED, S.FINALIZED}),
    K.VERIFICATION: frozenset({S.FINALIZED}),
}


class NegotiationRefused(DspError):
    """The request cannot start a negotiation (unknown or outdated offer, target mismatch): 400."""


def _wire(n: Negotiation) -> ContractNegotiation:
    return ContractNegotiation(provider_pid=n.provider_pid or "", consumer_pid=n.consumer_pid or "", state=n.state)


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


class Negotiations:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _publish(self, n: Negotiation) -> None:
        self.rt.events.publish(Event("negotiation", n.id, n.state.value, self.rt.now(), negotiation_json(n)))

    async def _owned(self, tx: Transaction, role: Role, pid: str, caller: Caller) -> Negotiation:
        found = (
            await tx.negotiations.find_by_provider_pid(role, pid)
            if role is Role.PROVIDER
            else await tx.negotiations.find_by_consumer_pid(role, pid)
        )
        if found is None or found.counter_party_id != caller.did:
            raise ProcessNotFound(f"no negotiation {pid!r} with you")
        return found

    async def _receive(self, tx: Transaction, n: Negotiation, kind: K, *, sender: Role) -> tuple[Negotiation, bool]:
        """Apply an inbound message's transition; returns (negotiation, changed)."""
        try:
            state = machine.next_state(n.state, sender=sender, kind=kind)
        except InvalidTransition:
            if _RESULT.get(kind) is n.state or n.state in _PASSED.get(kind, ()):
                return n, False
            acked = await self._implied_ack(tx, n)
            if acked is None:
                # Our ACK processing may have committed since we read the process (PostgreSQL runs them truly
                # concurrently): judge the message against the current state before refusing it.
                fresh = await tx.negotiations.get(n.id)
                if fresh.version != n.version:
                    return await self._receive(tx, fresh, kind, sender=sender)
                raise
            state = machine.next_state(acked.state, sender=sender, kind=kind)
            n = acked
        return n.evolve(state=state, updated_at=self.rt.now()), True

    async def _implied_ack(self, tx: Transaction, n: Negotiation) -> Negotiation | None:
        return await implied_ack(self.rt, tx, n)

    async def _commit(self, tx: Transaction, n: Negotiation) -> Negotiation:
        return await tx.negotiations.update(n)

    # -- provider: inbound -------------------------------------------------------------------------------------

    @reapplied_on_conflict
    async def on_initial_request(self, caller: Caller, msg: ContractRequestMessage) -> tuple[ContractNegotiation, int]:
        """``POST /negotiations/request``: create (or, repeated, return) the negotiation, decide, answer 201."""
        now = self.rt.now()
        assert msg.callback_address is not None
        async with self.rt.store.transaction() as tx:
            existing = await tx.negotiations.find_by_consumer_pid(Role.PROVIDER, msg.consumer_pid)
            if existing is not None:
                if existing.counter_party_id != caller.did:
                    raise NegotiationRefused("consumerPid already in use", code="duplicate-pid")
                return _wire(existing), 201
            asset_id, offer = await self._check_offer(tx, caller, msg.offer)
            n = Negotiation(
                id=new_pid(),
                role=Role.PROVIDER,
                consumer_pid=msg.consumer_pid,
                provider_pid=new_pid(),
                counter_party_id=caller.did,
                counter_party_address=msg.callback_address,
                state=machine.next_state(None, sender=Role.CONSUMER, kind=K.REQUEST),
                offers=(dict(msg.offer),),
                asset_id=asset_id,
                created_at=now,
                updated_at=now,
            )
            await tx.negotiations.add(n)
            n = await self._decide(tx, n, caller, offer)
        self._publish(n)
        return _wire(n), 201

    @reapplied_on_conflict
    async def on_counter_request(
        self, caller: Caller, provider_pid: str, msg: ContractRequestMessage
    ) -> ContractNegotiation:
        """``POST /negotiations/:providerPid/request``: a consumer counter-offer in OFFERED."""
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, Role.PROVIDER, provider_pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, _ = await self._receive(tx, n, K.REQUEST, sender=Role.CONSUMER)
            n = n.evolve(offers=(*n.offers, dict(msg.offer)))
            await tx.negotiations.update(n.evolve(version=n.version), expected_version=n.version)
            n = await tx.negotiations.get(n.id)
            _, offer = await self._check_offer(tx, caller, msg.offer)
            n = await self._decide(tx, n, caller, offer)
        self._publish(n)
        return _wire(n)

    @reapplied_on_conflict
    async def on_accepted(
        self, caller: Caller, provider_pid: str, msg: ContractNegotiationEventMessage
    ) -> ContractNegotiation:
        """``POST /negotiations/:providerPid/events`` with ACCEPTED: the consumer accepted our offer; agree."""
        if msg.event_type is not NegotiationEventType.ACCEPTED:
            raise InvalidTransition("a consumer can only send the ACCEPTED event")
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, Role.PROVIDER, provider_pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, changed = await self._receive(tx, n, K.ACCEPTED, sender=Role.CONSUMER)
            if changed:
                if self.rt.behaviour.auto_agree:
                    n = await self._commit(tx, n)
                    n = await self._agree(tx, n)
                else:  # manual approval: ACCEPTED waits for an operator (accept) like an initial request does
                    n = await self._commit(tx, n.evolve(pending=True))
        self._publish(n)
        return _wire(n)

    @reapplied_on_conflict
    async def on_verification(
        self, caller: Caller, provider_pid: str, msg: ContractAgreementVerificationMessage
    ) -> ContractNegotiation:
        """``POST /negotiations/:providerPid/agreement/verification``: VERIFIED, then we finalize."""
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, Role.PROVIDER, provider_pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, changed = await self._receive(tx, n, K.VERIFICATION, sender=Role.CONSUMER)
            if changed:
                if self.rt.behaviour.auto_finalize:
                    n = await self._commit(tx, n)
                    n = await self._finalize(tx, n)
                else:
                    n = await self._commit(tx, n.evolve(pending=True))
        self._publish(n)
        return _wire(n)

    async def _finalize(self, tx: Transaction, n: Negotiation) -> Negotiation:
        """Send the FINALIZED event (FINALIZED on the consumer's ACK)."""
        n = await tx.negotiations.update(n.evolve(pending=False)) if n.pending else n
        event = ContractNegotiationEventMessage(
            provider_pid=n.provider_pid or "",
            consumer_pid=n.consumer_pid or "",
            event_type=NegotiationEventType.FINALIZED,
        )
        await send(self.rt, tx, n, negotiation_message(self.rt, n, event, paths.CALLBACK_NEGOTIATION_EVENTS))
        return n

    @reapplied_on_conflict
    async def on_termination(
        self, caller: Caller, role: Role, pid: str, msg: ContractNegotiationTerminationMessage
    ) -> ContractNegotiation:
        """Either side's ``.../termination``: TERMINATED with the peer's code and reason kept."""
        sender = Role.CONSUMER if role is Role.PROVIDER else Role.PROVIDER
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, role, pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, changed = await self._receive(tx, n, K.TERMINATION, sender=sender)
            if changed:
                reason = "; ".join(str(r) for r in msg.reason or []) or "terminated by the counter-party"
                error = ProcessError(code=msg.code or "terminated-by-peer", reason=reason, details={"by": caller.did})
                n = await self._commit(tx, n.evolve(error=error, pending=False))
        self._publish(n)
        return _wire(n)

    async def get(self, caller: Caller, role: Role, pid: str) -> ContractNegotiation:
        async with self.rt.store.transaction() as tx:
            return _wire(await self._owned(tx, role, pid, caller))

    # -- provider: decisions -----------------------------------------------------------------------------------

    async def _check_offer(
        self, tx: Transaction, caller: Caller, offer: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The asset and our own offer the request refers to; refuses unknown, outdated or mismatched offers."""
        raw_id = offer.get("@id")
        if not isinstance(raw_id, str):
            raise NegotiationRefused("the offer has no @id: request an offer from our catalog", code="unknown-offer")
        try:
            ref = parse_offer_id(raw_id)
            definition = await tx.contract_definitions.get(ref.definition_id)
            contract = await tx.policies.get(definition.contract_policy_id)
        except (OfferNotFound, NotFound) as exc:
            raise NegotiationRefused(
                f"offer {raw_id!r} is not offered by this connector", code="unknown-offer"
            ) from exc
        if ref.asset_id not in definition.asset_ids:
            raise NegotiationRefused(f"offer {raw_id!r} is not offered by this connector", code="unknown-offer")
        ours = dsp_offer(
            self.rt.policies,
            contract,
            offer_id=offer_id(definition, ref.asset_id, contract),
            assigner=self.rt.identity.did,
            target=ref.asset_id,
        )
        if ours["@id"] != raw_id and not self.rt.behaviour.lenient_offer_ids:
            raise NegotiationRefused(
                f"offer {raw_id!r} is outdated: the provider changed its policy; fetch the catalog again",
                code="outdated-offer",
            )
        target = offer.get("target")
        if isinstance(target, Mapping):
            target = target.get("@id")
        if target is not None and target != ref.asset_id:
            raise NegotiationRefused(
                f"the offer's target {target!r} is not dataset {ref.asset_id!r}", code="bad-target"
            )
        try:
            same = equivalent(self.rt.policies.parse(dict(offer)), self.rt.policies.parse(ours))
        except PolicyError as exc:
            raise NegotiationRefused(f"the offer's policy cannot be read: {exc}", code="invalid-offer") from exc
        if not same:
            raise NegotiationRefused(
                "the requested policy differs from the offer; counter-offers must be made on an offer of ours",
                code="offer-mismatch",
            )
        return ref.asset_id, ours

    async def _decide(self, tx: Transaction, n: Negotiation, caller: Caller, offer: dict[str, Any]) -> Negotiation:
        """Evaluate access and contract policy for ``caller``; agree, wait for an operator, or terminate."""
        ref = parse_offer_id(str(offer["@id"]))
        definition = await tx.contract_definitions.get(ref.definition_id)
        world = World(now=self.rt.now(), claims=caller.claims.claims)
        request = Request(action="use", target=n.asset_id, party=caller.did)
        access = await tx.policies.get(definition.access_policy_id)
        report = self.rt.policies.evaluate(access.policy, "catalog", request, world)
        if report.decision == "permit":
            report = self.rt.policies.evaluate(offer, "negotiation", request, world)
        if report.decision != "permit":
            details = {"report": report.to_json(), "credential_problems": list(caller.claims.problems)}
            reason = caller.claims.explained(report.reason)
            return await self._terminate(tx, n, code="policy-denied", reason=reason, details=details)
        if not self.rt.behaviour.auto_agree:
            return await tx.negotiations.update(n.evolve(pending=True))
        return await self._agree(tx, n)

    async def _agree(self, tx: Transaction, n: Negotiation) -> Negotiation:
        """Build the agreement from the last offer and send it (the state moves to AGREED on the ACK)."""
        offer = self.rt.policies.parse(n.offers[-1])
        agreement = make_agreement(
            offer,
            agreement_id=new_pid(),
            assignee=n.counter_party_id,
            timestamp=self.rt.now(),
            target=n.asset_id,
            assigner=self.rt.identity.did,
        )
        body = to_jsonld(agreement, context="dsp")
        body.pop("@context", None)
        n = await tx.negotiations.update(n.evolve(agreement=body, agreement_id=agreement.uid, pending=False))
        message = ContractAgreementMessage(
            provider_pid=n.provider_pid or "", consumer_pid=n.consumer_pid or "", agreement=body
        )
        await send(self.rt, tx, n, negotiation_message(self.rt, n, message, paths.CALLBACK_NEGOTIATION_AGREEMENT))
        return n

    async def _terminate(
        self, tx: Transaction, n: Negotiation, *, code: str, reason: str, details: dict[str, Any] | None = None
    ) -> Negotiation:
        """Record why and send a termination (TERMINATED on the ACK, or when delivery finally fails)."""
        n = await tx.negotiations.update(
            n.evolve(error=ProcessError(code=code, reason=reason, details=details or {}), pending=False)
        )
        message = ContractNegotiationTerminationMessage(
            provider_pid=n.provider_pid or "", consumer_pid=n.consumer_pid or "", code=code, reason=[reason]
        )
        path = paths.CALLBACK_NEGOTIATION_TERMINATION if n.role is Role.PROVIDER else paths.NEGOTIATION_TERMINATION
        await send(self.rt, tx, n, negotiation_message(self.rt, n, message, path))
        return n

    # -- consumer: inbound callbacks -----------------------------------------------------------------------------

    @reapplied_on_conflict
    async def on_offer(self, caller: Caller, consumer_pid: str, msg: ContractOfferMessage) -> ContractNegotiation:
        """``POST :callback/negotiations/:consumerPid/offers``: a provider counter-offer; waits for our decision."""
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, Role.CONSUMER, consumer_pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, changed = await self._receive(tx, n, K.OFFER, sender=Role.PROVIDER)
            if changed:
                n = await self._commit(tx, n.evolve(offers=(*n.offers, dict(msg.offer)), pending=True))
                if self.rt.behaviour.auto_accept_offers:
                    n = await self._send_accept(tx, n)
        self._publish(n)
        return _wire(n)

    @reapplied_on_conflict
    async def on_agreement(
        self, caller: Caller, consumer_pid: str, msg: ContractAgreementMessage
    ) -> ContractNegotiation:
        """``POST :callback/negotiations/:consumerPid/agreement``: check it matches what we asked, then verify."""
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, Role.CONSUMER, consumer_pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, changed = await self._receive(tx, n, K.AGREEMENT, sender=Role.PROVIDER)
            if not changed and n.agreement_id != str(msg.agreement.get("@id", "")):
                raise InvalidTransition(
                    f"negotiation is {n.state} under agreement {n.agreement_id}; a different agreement cannot follow"
                )
            if changed:
                problem = self._agreement_problem(n, msg.agreement, caller)
                agreement_id = str(msg.agreement.get("@id", ""))
                n = await self._commit(
                    tx, n.evolve(agreement=dict(msg.agreement), agreement_id=agreement_id or None, pending=False)
                )
                if problem is not None:
                    n = await self._terminate(tx, n, code="agreement-rejected", reason=problem)
                else:
                    await tx.agreements.add(
                        _agreement_entity(n, msg.agreement, provider=caller.did, consumer=self.rt.identity.did)
                    )
                    if self.rt.behaviour.auto_verify:
                        n = await self._verify(tx, n)
                    else:
                        n = await tx.negotiations.update(n.evolve(pending=True))
        self._publish(n)
        return _wire(n)

    async def _verify(self, tx: Transaction, n: Negotiation) -> Negotiation:
        """Send the ContractAgreementVerificationMessage (VERIFIED on the provider's ACK)."""
        n = await tx.negotiations.update(n.evolve(pending=False)) if n.pending else n
        verification = ContractAgreementVerificationMessage(
            provider_pid=n.provider_pid or "", consumer_pid=n.consumer_pid or ""
        )
        await send(self.rt, tx, n, negotiation_message(self.rt, n, verification, paths.NEGOTIATION_VERIFICATION))
        return n

    def _agreement_problem(self, n: Negotiation, agreement: Mapping[str, Any], caller: Caller) -> str | None:
        """Why the agreement is not what we negotiated (None when it is)."""
        target = agreement.get("target")
        if isinstance(target, Mapping):
            target = target.get("@id")
        if target != n.asset_id:
            return f"the agreement's target {target!r} is not the dataset we asked for ({n.asset_id})"
        if _party(agreement.get("assigner")) != caller.did:
            return f"the agreement's assigner {agreement.get('assigner')!r} is not the provider {caller.did}"
        if _party(agreement.get("assignee")) != self.rt.identity.did:
            return f"the agreement's assignee {agreement.get('assignee')!r} is not us ({self.rt.identity.did})"
        try:
            if not equivalent(self.rt.policies.parse(dict(agreement)), self.rt.policies.parse(n.offers[-1])):
                return "the agreement's rules differ from the offer we requested"
        except PolicyError as exc:
            return f"the agreement's policy cannot be read: {exc}"
        return None

    @reapplied_on_conflict
    async def on_finalized(
        self, caller: Caller, consumer_pid: str, msg: ContractNegotiationEventMessage
    ) -> ContractNegotiation:
        if msg.event_type is not NegotiationEventType.FINALIZED:
            raise InvalidTransition("a provider can only send the FINALIZED event")
        async with self.rt.store.transaction() as tx:
            n = await self._owned(tx, Role.CONSUMER, consumer_pid, caller)
            n = _same_pids(n, msg.consumer_pid, msg.provider_pid)
            n, changed = await self._receive(tx, n, K.FINALIZED, sender=Role.PROVIDER)
            if changed:
                n = await self._commit(tx, n)
        self._publish(n)
        return _wire(n)

    @reapplied_on_conflict
    async def on_initial_offer(self, caller: Caller, msg: ContractOfferMessage) -> tuple[ContractNegotiation, int]:
        """``POST /negotiations/offers``: a provider-initiated negotiation (kept pending for an operator)."""
        now = self.rt.now()
        assert msg.callback_address is not None
        target = msg.offer.get("target")
        if isinstance(target, Mapping):
            target = target.get("@id")
        if not isinstance(target, str):
            raise NegotiationRefused("an initial offer must name its target dataset", code="bad-target")
        async with self.rt.store.transaction() as tx:
            n = Negotiation(
                id=new_pid(),
                role=Role.CONSUMER,
                consumer_pid=new_pid(),
                provider_pid=msg.provider_pid,
                counter_party_id=caller.did,
                counter_party_address=msg.callback_address,
                state=machine.next_state(None, sender=Role.PROVIDER, kind=K.OFFER),
                offers=(dict(msg.offer),),
                asset_id=target,
                pending=True,
                created_at=now,
                updated_at=now,
            )
            await tx.negotiations.add(n)
        self._publish(n)
        return _wire(n), 201

    # -- management (operators) ------------------------------------------------------------------------------------

    async def start(
        self, *, provider_address: str, provider_did: str, offer: Mapping[str, Any], asset_id: str
    ) -> Negotiation:
        """Consumer: request ``offer`` on ``asset_id`` from the provider at ``provider_address`` (its DSP base)."""
        now = self.rt.now()
        request_offer = dict(offer)
        request_offer["target"] = asset_id
        request_offer.setdefault("assigner", provider_did)
        n = Negotiation(
            id=new_pid(),
            role=Role.CONSUMER,
            consumer_pid=new_pid(),
            counter_party_id=provider_did,
            counter_party_address=provider_address,
            state=S.REQUESTED,
            offers=(request_offer,),
            asset_id=asset_id,
            created_at=now,
            updated_at=now,
        )
        message = ContractRequestMessage(
            consumer_pid=n.consumer_pid or "",
            offer=request_offer,
            callback_address=self.rt.callback_address,
        )
        async with self.rt.store.transaction() as tx:
            await tx.negotiations.add(n)
            await send(self.rt, tx, n, negotiation_message(self.rt, n, message, paths.NEGOTIATION_INITIAL_REQUEST))
        self._publish(n)
        return n

    async def accept(self, negotiation_id: str) -> Negotiation:
        """The operator's next step: a consumer accepts the provider's current offer (OFFERED -> ACCEPTED on ACK)
        or verifies a held agreement (AGREED, pending); a provider approves a pending request or acceptance (sends
        the agreement) or finalizes a held verification (VERIFIED, pending)."""
        async with self.rt.store.transaction() as tx:
            n = await tx.negotiations.get(negotiation_id)
            if n.role is Role.CONSUMER:
                if n.state is S.AGREED and n.pending:
                    n = await self._verify(tx, n)
                elif n.state is S.OFFERED:
                    n = await self._send_accept(tx, n)
                else:
                    raise ConnectorError(
                        f"negotiation is {n.state}; only an OFFERED negotiation can be accepted", code="invalid-state"
                    )
            elif n.state is S.VERIFIED and n.pending:
                n = await self._finalize(tx, n)
            else:
                if n.state not in (S.REQUESTED, S.ACCEPTED) or not n.pending:
                    raise ConnectorError(f"negotiation is {n.state}; nothing waits for approval", code="invalid-state")
                n = await self._agree(tx, n)
        self._publish(n)
        return n

    async def _send_accept(self, tx: Transaction, n: Negotiation) -> Negotiation:
        n = await tx.negotiations.update(n.evolve(pending=False))
        event = ContractNegotiationEventMessage(
            provider_pid=n.provider_pid or "",
            consumer_pid=n.consumer_pid or "",
            event_type=NegotiationEventType.ACCEPTED,
        )
        await send(self.rt, tx, n, negotiation_message(self.rt, n, event, paths.NEGOTIATION_EVENTS))
        return n

    async def counter(self, negotiation_id: str, offer: Mapping[str, Any]) -> Negotiation:
        """Send a counter-offer: consumer ContractRequestMessage in OFFERED, provider ContractOfferMessage in
        REQUESTED."""
        async with self.rt.store.transaction() as tx:
            n = await tx.negotiations.get(negotiation_id)
            body = dict(offer)
            body.setdefault("target", n.asset_id)
            if n.role is Role.CONSUMER:
                if n.state is not S.OFFERED:
                    raise ConnectorError("a consumer counter-offers only in OFFERED", code="invalid-state")
                message: ContractRequestMessage | ContractOfferMessage = ContractRequestMessage(
                    consumer_pid=n.consumer_pid or "", provider_pid=n.provider_pid, offer=body
                )
                path = paths.NEGOTIATION_REQUEST
            else:
                if n.state is not S.REQUESTED:
                    raise ConnectorError("a provider counter-offers only in REQUESTED", code="invalid-state")
                message = ContractOfferMessage(
                    provider_pid=n.provider_pid or "", consumer_pid=n.consumer_pid, offer=body
                )
                path = paths.CALLBACK_NEGOTIATION_OFFERS
            n = await tx.negotiations.update(n.evolve(offers=(*n.offers, body), pending=False))
            await send(self.rt, tx, n, negotiation_message(self.rt, n, message, path))
        self._publish(n)
        return n

    async def terminate(self, negotiation_id: str, reason: str) -> Negotiation:
        async with self.rt.store.transaction() as tx:
            n = await tx.negotiations.get(negotiation_id)
            if n.state.terminal:
                raise ConnectorError(f"negotiation is already {n.state}", code="invalid-state")
            n = await self._terminate(tx, n, code="terminated-by-operator", reason=reason)
        self._publish(n)
        return n


async def implied_ack(rt: Runtime, tx: Transaction, n: Negotiation) -> Negotiation | None:
    """The peer's answer to a message of ours whose ACK we have not applied yet proves it was delivered.

    Our state moves on the ACK (house rule 2), but the peer may answer before we processed that ACK (a race
    inside one process, or we were killed after sending): e.g. the consumer's verification arrives while we
    still record REQUESTED because the ACK of our agreement was lost with the process. Apply that pending
    message's transition now (and its side effect: the provider's agreement record) and mark it sent so it is
    not delivered twice; the caller then checks the inbound message against the state after it. Messages we
    merely hold (``pending``) are not in the outbox, so the TCK's negative cases stay 400.
    """
    page = await tx.outbox.list(process_kind=ProcessKind.NEGOTIATION, process_id=n.id, status=OutboxStatus.PENDING)
    for message in sorted(page.items, key=lambda m: m.created_at):
        try:
            state = machine.next_state(n.state, sender=n.role, kind=message.message_type)
        except InvalidTransition:
            return None
        await tx.outbox.mark_sent(message.id)
        n = n.evolve(state=state, updated_at=rt.now())
        agreed = state is S.AGREED and n.role is Role.PROVIDER and n.agreement is not None
        if agreed and await tx.agreements.find(n.agreement_id or str((n.agreement or {}).get("@id"))) is None:
            await tx.agreements.add(
                _agreement_entity(n, n.agreement or {}, provider=rt.identity.did, consumer=n.counter_party_id)
            )
        return n
    return None


def _same_pids(n: Negotiation, consumer_pid: str | None, provider_pid: str | None) -> Negotiation:
    """Check the message's pids; a providerPid we have not recorded yet (the ACK of our request was lost, e.g.
    with a crash) is learned from the provider's message, so our answers reach the right process."""
    if consumer_pid is not None and n.consumer_pid is not None and consumer_pid != n.consumer_pid:
        raise InvalidTransition(f"consumerPid {consumer_pid!r} does not belong to this negotiation")
    if provider_pid is not None and n.provider_pid is not None and provider_pid != n.provider_pid:
        raise InvalidTransition(f"providerPid {provider_pid!r} does not belong to this negotiation")
    if n.provider_pid is None and provider_pid:
        return n.evolve(provider_pid=provider_pid)
    return n


def _party(value: Any) -> Any:
    return value.get("@id", value.get("uid")) if isinstance(value, Mapping) else value


def _agreement_entity(n: Negotiation, agreement: Mapping[str, Any], *, provider: str, consumer: str) -> Agreement:
    return Agreement(
        id=str(agreement.get("@id") or n.agreement_id),
        negotiation_id=n.id,
        asset_id=n.asset_id,
        provider_id=provider,
        consumer_id=consumer,
        policy=dict(agreement),
        signed_at=n.updated_at,
    )


def negotiation_json(n: Negotiation) -> dict[str, Any]:
    """The plain-JSON view of a negotiation for the management API and events."""
    return {
        "id": n.id,
        "role": n.role.value,
        "state": n.state.value,
        "consumerPid": n.consumer_pid,
        "providerPid": n.provider_pid,
        "counterPartyId": n.counter_party_id,
        "counterPartyAddress": n.counter_party_address,
        "assetId": n.asset_id,
        "agreementId": n.agreement_id,
        "pending": n.pending,
        "error": n.error.model_dump() if n.error else None,
        "offers": list(n.offers),
        "agreement": n.agreement,
        "createdAt": n.created_at.isoformat(),
        "updatedAt": n.updated_at.isoformat(),
    }
