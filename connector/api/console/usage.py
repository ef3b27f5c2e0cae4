"""Usage: this participant's usage ledger as a timeline (newest first) with its verification status, and the
duties of agreements with their state (not-set, fulfilled, violated).

Verification re-checks the whole chain (sequence, links, digests, signatures) with the service the management API
uses; a broken chain is shown with the first bad record named, never hidden.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from connector.api.console.context import ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.session import Session
from connector.api.console.wording import gloss
from connector.errors import ConnectorError

#: Records shown on one page (the newest).
SHOWN = 200
#: Data fields shown as the record's headline, in this order; the rest are listed under it.
HEADLINE = ("decision", "reason", "bytes", "purpose", "state", "action")


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    @r.get("/usage", include_in_schema=False)
    async def usage(
        request: Request, session: Annotated[Session, Depends(auth)], agreement: str = "", transfer: str = ""
    ) -> Response:
        rt = console.get().runtime
        ledger = request.app.state.usage.ledger
        verified: dict[str, Any]
        try:
            result = await ledger.verify()
            verified = {"ok": True, "records": result.records, "head": result.head_digest}
        except ConnectorError as exc:
            verified = {"ok": False, "reason": exc.message}
        head_seq = int(verified.get("records", 0)) if verified["ok"] else 0
        records = await ledger.records(
            after_seq=max(0, head_seq - SHOWN) if not transfer else 0,
            limit=SHOWN if not transfer else 1000,
            transfer_id=transfer or None,
        )
        if agreement:
            records = [r for r in records if r.agreement_id == agreement]
        async with rt.store.transaction() as tx:
            processes = (await tx.transfers.list(limit=1000)).items
        # Ledger records name a transfer by its DSP process id (ours or the peer's); pages use our own id.
        local = {pid: t.id for t in processes for pid in (t.id, t.provider_pid, t.consumer_pid) if pid}
        timeline = []
        for record in reversed(records):
            data = dict(record.data)
            if isinstance(data.get("reason"), str):
                data["reason"] = gloss(data["reason"])
            timeline.append(
                {
                    "record": record,
                    "headline": {k: data.pop(k) for k in HEADLINE if k in data},
                    "rest": data,
                    "transfer": local.get(record.transfer_id or ""),
                    "tone": "deny"
                    if record.data.get("decision") == "deny"
                    else ("permit" if record.data.get("decision") == "permit" else ""),
                }
            )
        async with rt.store.transaction() as tx:
            duties = (await tx.obligations.list(limit=500, agreement_id=agreement or None)).items
        return console.page(
            request,
            "usage.html",
            session,
            verified=verified,
            timeline=timeline,
            duties=duties,
            agreement=agreement,
            transfer=transfer,
        )

    return r
