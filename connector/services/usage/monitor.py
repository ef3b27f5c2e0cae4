"""The policy monitor (issue 6 §4): re-evaluates running transfers and terminates those whose agreement no longer
holds — the time window closed, the count is exhausted, a credential expired or was revoked (the claims seen last
no longer satisfy the policy) — with a DSP TransferTerminationMessage carrying the reason.

EDC only terminates on contract expiry; here any constraint of the agreement that the ``monitor`` scope can decide
is re-checked, with the same world as an access (uses so far, elapsed time, clock, claims, performed duties).
``purpose`` is per access and therefore not decided by the monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from connector.domain import TransferProcess
from connector.dsp.states import Role, TransferState
from connector.services.runtime import Runtime
from connector.services.transfers import Transfers
from connector.services.usage.ledger import UsageLedger
from connector.services.usage.obligations import Obligations
from connector.services.usage.world import usage_world
from policies import Request

log = logging.getLogger(__name__)
TERMINATION_CODE = "policy-violated"


class PolicyMonitor:
    def __init__(self, runtime: Runtime, ledger: UsageLedger, obligations: Obligations, transfers: Transfers) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.obligations = obligations
        self.transfers = transfers
        self.wake = asyncio.Event()

    async def check(self) -> list[str]:
        """One pass over the provider's STARTED transfers; returns the ids terminated."""
        terminated: list[str] = []
        offset: int | None = 0
        while offset is not None:
            async with self.rt.store.transaction() as tx:
                page = await tx.transfers.list(
                    offset=offset, limit=100, state=TransferState.STARTED, role=Role.PROVIDER
                )
            offset = page.next_offset
            for t in page.items:
                if t.error is not None and t.error.code == TERMINATION_CODE:
                    continue  # already terminating: waiting for the peer's ACK
                try:
                    if await self._check_one(t):
                        terminated.append(t.id)
                except Exception:  # one unreadable agreement must not stop the monitor for the others
                    log.exception("policy monitor could not check a transfer", extra={"transfer": t.id})
        return terminated

    async def _check_one(self, t: TransferProcess) -> bool:
        """Re-evaluate one transfer; terminate it (and return True) when its agreement no longer holds."""
        now = self.rt.now()
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(t.agreement_id)
            snapshot = await tx.usage.claims(t.id)
            claims = dict(snapshot.claims) if snapshot else {"participant": t.counter_party_id}
            world = await usage_world(tx, agreement, now=now, claims=claims)
            request = Request(action="use", target=agreement.asset_id, party=t.counter_party_id)
            report = self.rt.policies.evaluate(agreement.policy, "monitor", request, world)
            await self.obligations.track(tx, agreement, report, side="provider", transfer_id=t.id)
            if report.decision == "permit":
                return False
            await self.ledger.append(
                tx,
                "monitor",
                agreement_id=agreement.id,
                transfer_id=t.provider_pid,
                counterparty=t.counter_party_id,
                data={"decision": "deny", "reason": report.reason, "action": "terminate"},
            )
        await self.transfers.terminate(
            t.id,
            code=TERMINATION_CODE,
            reason=f"the agreement no longer holds: {report.reason}",
            details={"report": report.to_json()},
        )
        return True

    async def run(self, interval: float) -> None:
        """Check every ``interval`` seconds (or at once when :attr:`wake` is set) until cancelled."""
        while True:
            try:
                await self.check()
            except Exception:  # the monitor must survive a bad agreement or a database hiccup
                log.exception("policy monitor pass failed")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self.wake.wait()
