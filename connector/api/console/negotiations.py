"""Negotiations and agreements: start from an offer, watch live, accept / counter / terminate, and read why a
negotiation failed in words (the structured ``error`` the services record: code, reason, policy report).

The actions call the same :class:`~connector.services.negotiations.Negotiations` methods as the management API.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from connector.api.console.context import PREFIX, ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.session import Session
from connector.api.console.wording import describe
from connector.domain import Negotiation
from connector.dsp.errors import DspError
from connector.dsp.states import NegotiationState, Role
from connector.errors import ConnectorError
from connector.services.negotiations import negotiation_json
from connector.store.errors import NotFound
from policies import PolicyError

S = NegotiationState
#: The usual path of a negotiation, for the progress steps on the page.
STEPS = (S.REQUESTED, S.OFFERED, S.ACCEPTED, S.AGREED, S.VERIFIED, S.FINALIZED)


def actions(n: Negotiation) -> dict[str, bool]:
    """Which buttons make sense now (the services still check; this only avoids offering dead ends)."""
    consumer = n.role is Role.CONSUMER
    accept = (
        (n.state is S.OFFERED or (n.state is S.AGREED and n.pending))
        if consumer
        else (n.pending and n.state in (S.REQUESTED, S.ACCEPTED, S.VERIFIED))
    )
    counter = n.state is (S.OFFERED if consumer else S.REQUESTED)
    return {"accept": accept, "counter": counter, "terminate": not n.state.terminal}


def _message(exc: Exception) -> str:
    if isinstance(exc, DspError):
        return "; ".join(exc.reason)
    if isinstance(exc, ConnectorError):
        return exc.message
    return str(exc)


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    def parse(document: Any) -> Any:
        return console.get().runtime.policies.parse(document)

    async def detail(request: Request, session: Session, negotiation_id: str, *, error: str = "") -> Response:
        try:
            async with console.get().runtime.store.transaction() as tx:
                n = await tx.negotiations.get(negotiation_id)
        except NotFound:
            return console.page(request, "missing.html", session, status=404, what=f"negotiation {negotiation_id}")
        offers = [{"policy": o, "words": describe(o, parse)} for o in n.offers]
        return console.page(
            request,
            "negotiation.html",
            session,
            status=400 if error else 200,
            n=negotiation_json(n),
            state=n.state.value,
            steps=[s.value for s in STEPS],
            reached=[s.value for s in STEPS[: STEPS.index(n.state) + 1]] if n.state in STEPS else [],
            offers=offers,
            agreement_words=describe(n.agreement, parse) if n.agreement else [],
            can=actions(n),
            counter_text=json.dumps(n.offers[-1] if n.offers else {}, indent=2),
            error=error,
        )

    @r.get("/negotiations", include_in_schema=False)
    async def negotiations(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        async with console.get().runtime.store.transaction() as tx:
            items = (await tx.negotiations.list(limit=200)).items
        rows = sorted((negotiation_json(n) for n in items), key=lambda n: n["updatedAt"], reverse=True)
        return console.page(request, "negotiations.html", session, rows=rows)

    @r.post("/negotiations", include_in_schema=False)
    async def start(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        form = await request.form()
        address = str(form.get("address") or "").strip()
        did = str(form.get("did") or "").strip() or None
        offer_id = str(form.get("offer_id") or "")
        c = console.get()
        try:
            peer, dataset_id, offer = await c.offers.find(address, did, offer_id)
            n = await c.negotiations.start(
                provider_address=peer.dsp_base, provider_did=peer.participant_id, offer=offer, asset_id=dataset_id
            )
        except (ConnectorError, DspError) as exc:
            return console.page(
                request,
                "missing.html",
                session,
                status=400,
                what="offer to negotiate",
                error=f"The negotiation could not start: {_message(exc)}",
            )
        return RedirectResponse(f"{PREFIX}/negotiations/{n.id}?notice=negotiation-started", status_code=303)

    @r.get("/negotiations/{negotiation_id}", include_in_schema=False)
    async def negotiation(
        request: Request, negotiation_id: str, session: Annotated[Session, Depends(auth)]
    ) -> Response:
        return await detail(request, session, negotiation_id)

    @r.post("/negotiations/{negotiation_id}/{action}", include_in_schema=False)
    async def act(
        request: Request, negotiation_id: str, action: str, session: Annotated[Session, Depends(auth)]
    ) -> Response:
        form = await request.form()
        services = console.get().negotiations
        try:
            if action == "accept":
                await services.accept(negotiation_id)
                notice = "accepted"
            elif action == "terminate":
                reason = str(form.get("reason") or "").strip() or "terminated by the operator"
                await services.terminate(negotiation_id, reason)
                notice = "terminated"
            elif action == "counter":
                try:
                    offer = json.loads(str(form.get("offer") or ""))
                except json.JSONDecodeError as exc:
                    raise ConnectorError(f"the counter-offer is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
                if not isinstance(offer, dict):
                    raise ConnectorError("the counter-offer must be a JSON object (an ODRL Offer)")
                parse(offer)
                await services.counter(negotiation_id, offer)
                notice = "countered"
            else:
                return console.page(request, "missing.html", session, status=404, what=f"action {action}")
        except NotFound:
            return console.page(request, "missing.html", session, status=404, what=f"negotiation {negotiation_id}")
        except (ConnectorError, DspError, PolicyError) as exc:
            return await detail(request, session, negotiation_id, error=_message(exc))
        return RedirectResponse(f"{PREFIX}/negotiations/{negotiation_id}?notice={notice}", status_code=303)

    # -- agreements ---------------------------------------------------------------------------------------------

    @r.get("/agreements", include_in_schema=False)
    async def agreements(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        me = console.get().runtime.identity.did
        async with console.get().runtime.store.transaction() as tx:
            items = (await tx.agreements.list(limit=200, in_force=True)).items
        rows = [
            {
                "agreement": a,
                "words": describe(a.policy, parse),
                "consumer": a.consumer_id == me,
            }
            for a in sorted(items, key=lambda a: a.signed_at, reverse=True)
        ]
        return console.page(request, "agreements.html", session, rows=rows)

    return r
