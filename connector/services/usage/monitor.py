"""The policy monitor (issue 6 §4): re-evaluates running transfers and terminates those whose agreement no longer
holds — the time window closed, the count is exhausted, a credential expired or was revoked — with a DSP
TransferTerminationMessage carrying the reason.

Claims are re-checked, not remembered: every :data:`CLAIMS_RECHECK` the monitor asks the consumer's Credential
Service for a fresh presentation (through the claims resolver, bypassing its cache, with the access token of the
consumer's last pull, :mod:`.grants`) and decides with what the consumer can prove *now*; the fresh claims replace
the snapshot. Each credential's W3C Bitstring Status List entry is checked on the way (claims resolver), so a
credential its issuer revoked or suspended stops counting: with status lists at most ``STATUS_LIST_TTL`` old and a
re-check every ``CLAIMS_TTL - STATUS_LIST_TTL``, a revocation ends the transfers that need the credential at most
``CLAIMS_TTL`` (plus one monitor pass) after the issuer published it. When no usable grant is left (DCP access
tokens live minutes) or the Credential Service or a status list is unreachable, the claims seen last decide (an
outage of the issuer's status list server does not end every running transfer; new negotiations fail closed).
Duties are followed on every pass too (:meth:`.obligations.Obligations.review`): a deadline that passed unfulfilled
makes the duty violated and its consequences active, on both sides.

EDC only terminates on contract expiry; here any constraint of the agreement that the ``monitor`` scope can decide
is re-checked, with the same world as an access (uses so far, elapsed time, clock, claims, performed duties).
``purpose`` is per access and therefore not decided by the monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from connector.domain import ClaimsSnapshot, TransferProcess
from connector.dsp.states import Role, TransferState
from connector.identity.claims import CLAIMS_TTL, STATUS_LIST_TTL
from connector.services.runtime import Runtime
from connector.services.transfers import Transfers
from connector.services.usage.grants import Grants
from connector.services.usage.ledger import UsageLedger
from connector.services.usage.obligations import Obligations
from connector.services.usage.world import usage_world
from policies import Request

log = logging.getLogger(__name__)
TERMINATION_CODE = "policy-violated"
#: How often a running transfer's consumer claims are fetched afresh (when a grant allows it): together with the
#: status list cache this keeps a revocation's delay within the claims cache's ``CLAIMS_TTL`` (module docstring).
CLAIMS_RECHECK = CLAIMS_TTL - STATUS_LIST_TTL


class PolicyMonitor:
    def __init__(
        self,
        runtime: Runtime,
        ledger: UsageLedger,
        obligations: Obligations,
        transfers: Transfers,
        grants: Grants | None = None,
        *,
        claims_recheck: dt.timedelta = CLAIMS_RECHECK,
    ) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.obligations = obligations
        self.transfers = transfers
        self.grants = grants if grants is not None else Grants()
        self.claims_recheck = claims_recheck
        self.wake = asyncio.Event()

    async def check(self) -> list[str]:
        """One pass over the provider's STARTED transfers; returns the ids terminated."""
        terminated: list[str] = []
        running: set[str] = set()
        offset: int | None = 0
        while offset is not None:
            async with self.rt.store.transaction() as tx:
                page = await tx.transfers.list(
                    offset=offset, limit=100, state=TransferState.STARTED, role=Role.PROVIDER
                )
            offset = page.next_offset
            for t in page.items:
                running.add(t.id)
                if t.error is not None and t.error.code == TERMINATION_CODE:
                    continue  # already terminating: waiting for the peer's ACK
                try:
                    if await self._check_one(t):
                        terminated.append(t.id)
                except Exception:  # one unreadable agreement must not stop the monitor for the others
                    log.exception("policy monitor could not check a transfer", extra={"transfer": t.id})
        self.grants.keep_only(running)
        try:
            await self.obligations.review()
        except Exception:  # duties of one bad agreement must not stop the monitor
            log.exception("policy monitor could not review duties")
        return terminated

    async def _current_claims(self, t: TransferProcess, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """The claims to decide with and how they were obtained (for the ledger)."""
        caller = self.grants.usable(t.id, now)
        if caller is not None and self.grants.due(t.id, now, self.claims_recheck):
            fresh = await self.rt.claims.claims_for(caller, now=now, fresh=True)
            self.grants.checked(t.id, now)
            if not fresh.unreachable:
                claims = dict(fresh.claims)
                async with self.rt.store.transaction() as tx:
                    await tx.usage.save_claims(
                        ClaimsSnapshot(transfer_id=t.id, consumer=t.counter_party_id, claims=claims, seen_at=now)
                    )
                origin = {"claims": "fetched", "at": now.isoformat(), "problems": list(fresh.problems)[:10]}
                if fresh.withdrawn:
                    origin["withdrawn"] = list(fresh.withdrawn)[:10]
                return claims, origin
        async with self.rt.store.transaction() as tx:
            snapshot = await tx.usage.claims(t.id)
        if snapshot is None:
            return {"participant": t.counter_party_id}, {"claims": "none"}
        return dict(snapshot.claims), {"claims": "last seen", "at": snapshot.seen_at.isoformat()}

    async def _check_one(self, t: TransferProcess) -> bool:
        """Re-evaluate one transfer; terminate it (and return True) when its agreement no longer holds."""
        now = self.rt.now()
        claims, origin = await self._current_claims(t, now)
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(t.agreement_id)
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
                data={"decision": "deny", "reason": report.reason, "action": "terminate", **origin},
            )
        withdrawn = list(origin.get("withdrawn", []))
        await self.transfers.terminate(
            t.id,
            code=TERMINATION_CODE,
            reason="; ".join((f"the agreement no longer holds: {report.reason}", *withdrawn[:3])),
            details={"report": report.to_json(), **({"withdrawn": withdrawn} if withdrawn else {})},
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
