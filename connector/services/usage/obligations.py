"""Duties of agreements followed through their life (ODRL IM §2.6; odrl.md §4): not-set, fulfilled, violated.

Every evaluation report of an agreement (access, monitor) carries the state of each duty and obligation; the first
time a duty is seen it is recorded, and every change of state is written to the ledger, so both parties see when
a duty was violated. Performing a duty's action (a compensation paid, a deletion done) is recorded with
:meth:`Obligations.perform`: the action becomes a ``performed`` ledger record and the matching duties turn
fulfilled; the evaluator then sees it in ``World.performed``.

Duty kinds with their own machinery:

- ``inform`` (the provider is notified of each use): when a use completes, the provider's connector POSTs a JSON
  ``UsageNotification`` to the duty's webhook (``recipient eq <http(s) URL>``, the informed party; or an http(s)
  ``target``) through the egress guard, records
  ``notified`` or ``notify-failed`` and, on a 2xx answer, performs the duty;
- ``delete`` (:mod:`.deletion`): the consumer's signed deletion attestation fulfils it on both sides;
- any other action (``compensate``, ``log``, ...) is performed with :meth:`Obligations.perform`.

:meth:`Obligations.review` (run by the policy monitor) evaluates the duties of every agreement with duties, on
both sides: a deadline (``dateTime lt``) that passed unfulfilled makes the duty *violated* (ledger record ``duty``
with the state and its consequences), and its consequences are tracked from then on as active duties of their
own. A violated duty whose consequences are all performed becomes fulfilled (IM §2.6.6).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from connector.dataplane.sources import SourceError
from connector.dataplane.streams import HttpRequester
from connector.domain import Agreement, DutyState, Obligation
from connector.errors import ConnectorError
from connector.services.runtime import Runtime
from connector.services.usage.ledger import UsageLedger
from connector.store.protocols import Transaction
from policies import Report, Request, Rule, RuleResult
from policies.model import Constraint
from policies.vocabulary import ODRL

log = logging.getLogger(__name__)

STATES: tuple[DutyState, ...] = ("not-set", "fulfilled", "violated")
#: Duty actions the provider's connector performs itself; the consumer's side does not judge them.
PROVIDER_ACTIONS = frozenset({"inform"})
#: Seconds a notification webhook may take.
NOTIFY_TIMEOUT = 10.0
PAGE = 100


def _duties(report: Report) -> list[tuple[RuleResult, str | None]]:
    """Duties and obligations of a report with the duty each is a consequence of (None for top-level ones)."""
    found: list[tuple[RuleResult, str | None]] = []

    def walk(duty: RuleResult, parent: str | None) -> None:
        found.append((duty, parent))
        for consequence in duty.duties:
            walk(consequence, duty.uid)

    for rule in report.rules:
        if rule.kind == "obligation":
            walk(rule, None)
        else:
            for duty in rule.duties:
                walk(duty, None)
    return found


def _rules(rules: tuple[Rule, ...]) -> Iterator[Rule]:
    for rule in rules:
        yield rule
        yield from _rules(rule.duties)
        yield from _rules(rule.consequences)


def _webhook(rule: Rule | None) -> str | None:
    """The URL to inform: a ``recipient eq <URL>`` constraint or refinement of the duty (the informed party; it
    survives the agreement's compaction, which keeps no rule-level targets), else an http(s) ``target``."""
    if rule is None:
        return None
    for node in rule.constraints + rule.action.refinements:
        if isinstance(node, Constraint) and node.left_operand == ODRL + "recipient" and node.operator.endswith("eq"):
            for term in node.right_operand:
                if term.value.startswith(("http://", "https://")):
                    return term.value
    target = rule.target.uid if rule.target is not None else None
    return target if target and target.startswith(("http://", "https://")) else None


def _short(action: str) -> str:
    return action.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


class Obligations:
    def __init__(self, runtime: Runtime, ledger: UsageLedger, client: HttpRequester | None = None) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.client = client

    def duty_rules(self, agreement: Agreement) -> dict[str, Rule]:
        """Every duty, obligation and consequence of the agreement's policy by uid."""
        policy = self.rt.policies.parse(agreement.policy)
        return {r.uid: r for r in _rules(policy.obligations + policy.permissions) if r.kind in ("duty", "obligation")}

    async def track(
        self, tx: Transaction, agreement: Agreement, report: Report, *, side: str, transfer_id: str | None
    ) -> None:
        """Record new duties and changes of their state (each change is a ledger record)."""
        now = self.rt.now()
        rules: dict[str, Rule] | None = None
        for duty, parent in _duties(report):
            state = duty.state if duty.state in STATES else None
            if state is None:
                continue
            if side == "consumer" and _short(duty.action) in PROVIDER_ACTIONS:
                continue
            duty_id = f"{agreement.id}#{duty.uid}"
            try:
                current: Obligation | None = await tx.obligations.get(duty_id)
            except Exception:  # NotFound: first sighting
                current = None
            if current is not None and (current.state == state or current.state == "fulfilled"):
                continue  # a performed duty stays fulfilled
            if current is None:
                if rules is None:
                    rules = self.duty_rules(agreement)
                details: dict[str, Any] = {}
                if (hook := _webhook(rules.get(duty.uid))) is not None:
                    details["target"] = hook
                if parent is not None:
                    details["consequenceOf"] = f"{agreement.id}#{parent}"
                current = Obligation(
                    id=duty_id,
                    agreement_id=agreement.id,
                    transfer_id=transfer_id,
                    side="provider" if side == "provider" else "consumer",
                    action=_short(duty.action),
                    state=state,
                    details=details,
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
                data={
                    "duty": duty.uid,
                    "action": _short(duty.action),
                    "state": state,
                    "side": side,
                    # violated: these consequences are now active duties (IM §2.6.6)
                    "consequences": [c.uid for c in duty.duties] if state == "violated" else [],
                },
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

    # -- review (policy monitor) -------------------------------------------------------------------------------

    async def review(self) -> int:
        """Evaluate the duties of every agreement in force that has any, on our side of it; returns how many were
        seen. A void agreement (its negotiation terminated before FINALIZED) owes nothing."""
        seen = 0
        offset: int | None = 0
        me = self.rt.identity.did
        while offset is not None:
            async with self.rt.store.transaction() as tx:
                page = await tx.agreements.list(offset=offset, limit=PAGE, in_force=True)
            offset = page.next_offset
            for agreement in page.items:
                if not self.duty_rules(agreement):
                    continue
                side = "provider" if agreement.provider_id == me else "consumer"
                await self._review_one(agreement, side)
                seen += 1
        return seen

    async def _review_one(self, agreement: Agreement, side: str) -> None:
        from connector.services.usage.world import usage_world  # the world module imports nothing of ours

        now = self.rt.now()
        async with self.rt.store.transaction() as tx:
            world = await usage_world(tx, agreement, now=now, claims={"participant": agreement.consumer_id})
            request = Request(action="use", target=agreement.asset_id, party=agreement.consumer_id)
            report = self.rt.policies.evaluate(agreement.policy, "monitor", request, world)
            await self.track(tx, agreement, report, side=side, transfer_id=None)

    # -- inform ------------------------------------------------------------------------------------------------

    async def notify(self, agreement_id: str, transfer_id: str | None, use: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Provider: a use completed; call the webhook of each ``inform`` duty of the agreement (egress-guarded)."""
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(agreement_id)
        rules = self.duty_rules(agreement)
        hooks = [
            (uid, url)
            for uid, rule in rules.items()
            if _short(rule.action.iri) == "inform" and (url := _webhook(rule)) is not None
        ]
        results: list[dict[str, Any]] = []
        for uid, url in hooks:
            message = {
                "type": "UsageNotification",
                "agreementId": agreement_id,
                "transferId": transfer_id,
                "provider": agreement.provider_id,
                "consumer": agreement.consumer_id,
                "duty": uid,
                "at": self.rt.now().isoformat(),
                **{k: v for k, v in use.items() if k in ("use", "bytes", "digest", "status")},
            }
            outcome = await self._post(url, message)
            results.append({"duty": uid, **outcome})
            kind = "notified" if outcome.get("delivered") else "notify-failed"
            async with self.rt.store.transaction() as tx:
                await self.ledger.append(
                    tx,
                    kind,
                    agreement_id=agreement_id,
                    transfer_id=transfer_id,
                    counterparty=agreement.consumer_id,
                    data={"duty": uid, "target": url, **outcome},
                )
            if outcome.get("delivered"):
                await self.perform(
                    agreement_id, ODRL + "inform", transfer_id=transfer_id, details={"target": url, "duty": uid}
                )
        return results

    async def _post(self, url: str, message: Mapping[str, Any]) -> dict[str, Any]:
        if self.client is None:
            return {"delivered": False, "reason": "this connector has no HTTP client for webhooks"}
        body = json.dumps(message, separators=(",", ":")).encode()
        try:
            response = await self.client.request(
                "POST",
                url,
                headers={"content-type": "application/json"},
                content=body,
                request_timeout=NOTIFY_TIMEOUT,
            )
            await response.aclose()
        except ConnectorError as exc:  # the egress guard refused the webhook
            return {"delivered": False, "reason": exc.message[:300]}
        except Exception as exc:  # an unreachable webhook is recorded, never raised into the data path
            if isinstance(exc, SourceError):
                return {"delivered": False, "reason": exc.message[:300]}
            return {"delivered": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
        return {"delivered": 200 <= response.status_code < 300, "status": response.status_code}
