"""Duties of agreements followed through their life (ODRL IM §2.6; odrl.md §4): not-set, fulfilled, violated.

Every evaluation report of an agreement (access, monitor) carries the state of each duty and obligation; the first
time a duty is seen it is recorded, and every change of state is written to the ledger, so both parties see when
a duty was violated. Performing a duty's action (a compensation paid, a deletion done) is recorded with
:meth:`Obligations.perform`: the action becomes a ``performed`` ledger record and the matching duties turn
fulfilled; the evaluator then sees it in ``World.performed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.domain import Agreement, DutyState, Obligation
from connector.services.runtime import Runtime
from connector.services.usage.ledger import UsageLedger
from connector.store.protocols import Transaction
from policies import Report, RuleResult

STATES: tuple[DutyState, ...] = ("not-set", "fulfilled", "violated")


def _duties(report: Report) -> list[RuleResult]:
    found: list[RuleResult] = []
    for rule in report.rules:
        if rule.kind == "obligation":
            found.append(rule)
        found.extend(rule.duties)
    return found


def _short(action: str) -> str:
    return action.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


class Obligations:
    def __init__(self, runtime: Runtime, ledger: UsageLedger) -> None:
        self.rt = runtime
        self.ledger = ledger

    async def track(
        self, tx: Transaction, agreement: Agreement, report: Report, *, side: str, transfer_id: str | None
    ) -> None:
        """Record new duties and changes of their state (each change is a ledger record)."""
        now = self.rt.now()
        for duty in _duties(report):
            state = duty.state if duty.state in STATES else None
            if state is None:
                continue
            duty_id = f"{agreement.id}#{duty.uid}"
            try:
                current: Obligation | None = await tx.obligations.get(duty_id)
            except Exception:  # NotFound: first sighting
                current = None
            if current is not None and current.state == state:
                continue
            if current is None:
                current = Obligation(
                    id=duty_id,
                    agreement_id=agreement.id,
                    transfer_id=transfer_id,
                    side="provider" if side == "provider" else "consumer",
                    action=_short(duty.action),
                    state=state,
                    created_at=now,
                    updated_at=now,
                )
                await tx.obligations.add(current)
            else:
                await tx.obligations.update(current.evolve(state=state, updated_at=now))
            await self.ledger.append(
                tx,
                "duty",
                agreement_id=agreement.id,
                transfer_id=transfer_id,
                counterparty=agreement.consumer_id if side == "provider" else agreement.provider_id,
                data={"duty": duty.uid, "action": _short(duty.action), "state": state},
            )

    async def perform(
        self,
        agreement_id: str,
        action: str,
        *,
        transfer_id: str | None = None,
        party: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record that ``action`` was performed for the agreement's duties; returns the signed ledger record."""
        now = self.rt.now()
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(agreement_id)
            pending = await tx.obligations.list(agreement_id=agreement_id, limit=1000)
            fulfilled = []
            for duty in pending.items:
                if duty.action == _short(action) and duty.state != "fulfilled":
                    info = {**duty.details, "party": party or self.rt.identity.did, "performedAt": now.isoformat()}
                    await tx.obligations.update(duty.evolve(state="fulfilled", updated_at=now, details=info))
                    fulfilled.append(duty.id)
            if not fulfilled:
                now_duty = Obligation(
                    id=f"{agreement_id}#performed:{_short(action)}:{now.timestamp():.0f}",
                    agreement_id=agreement_id,
                    transfer_id=transfer_id,
                    side="provider" if agreement.provider_id == self.rt.identity.did else "consumer",
                    action=_short(action),
                    state="fulfilled",
                    details={"party": party or self.rt.identity.did, "performedAt": now.isoformat()},
                    created_at=now,
                    updated_at=now,
                )
                await tx.obligations.add(now_duty)
                fulfilled.append(now_duty.id)
            counterparty = (
                agreement.consumer_id if agreement.provider_id == self.rt.identity.did else agreement.provider_id
            )
            record = await self.ledger.append(
                tx,
                "performed",
                agreement_id=agreement_id,
                transfer_id=transfer_id,
                counterparty=counterparty,
                data={"action": _short(action), "duties": fulfilled, "details": dict(details or {})},
            )
        return record.to_json()
