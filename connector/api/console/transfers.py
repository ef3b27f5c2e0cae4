"""Transfers: start a pull or a push under an agreement, watch the state live, suspend / resume / complete /
terminate, download pulled data, and see the bytes moved (from the usage records).

Actions call :class:`~connector.services.transfers.Transfers` like the management API does.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from connector.api.console.context import PREFIX, ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.session import Session
from connector.api.console.wording import gloss
from connector.api.dataplane import MeteredResponse
from connector.dsp.errors import DspError
from connector.dsp.states import Role, TransferState
from connector.errors import ConnectorError
from connector.services.transfers import transfer_json
from connector.services.usage import UsageControl
from connector.services.usage.access import AccessDenied
from connector.store.errors import NotFound

T = TransferState
STEPS = (T.REQUESTED, T.STARTED, T.COMPLETED)
ACTIONS = ("suspend", "resume", "complete", "terminate")
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"


def possible(state: TransferState) -> dict[str, bool]:
    return {
        "suspend": state is T.STARTED,
        "resume": state is T.SUSPENDED,
        "complete": state is T.STARTED,
        "terminate": not state.terminal,
    }


def _message(exc: Exception) -> str:
    if isinstance(exc, DspError):
        return "; ".join(exc.reason)
    return exc.message if isinstance(exc, ConnectorError) else str(exc)


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    async def detail(
        request: Request, session: Session, transfer_id: str, *, error: str = "", status: int = 400
    ) -> Response:
        c = console.get()
        try:
            async with c.runtime.store.transaction() as tx:
                t = await tx.transfers.get(transfer_id)
                provided = (await tx.usage.list(transfer_id=transfer_id, limit=500)).items
        except NotFound:
            return console.page(request, "missing.html", session, status=404, what=f"transfer {transfer_id}")
        uses: list[dict[str, Any]]
        if t.role is Role.PROVIDER:
            uses = [
                {"at": u.created_at, "state": u.state, "purpose": u.purpose, "bytes": u.bytes, "counted": True}
                for u in provided
            ]
        else:
            # The consumer's side of each pull is a signed "receipt" in its own ledger (bytes and digest received).
            ledger = request.app.state.usage.ledger
            receipts = await ledger.records(transfer_id=t.consumer_pid, limit=500)
            uses = [
                {
                    "at": r.at,
                    "state": "received" if r.data.get("bytes") is not None else "refused",
                    "purpose": r.data.get("purpose"),
                    "bytes": int(r.data.get("bytes") or 0),
                    "counted": r.data.get("bytes") is not None,
                }
                for r in receipts
                if r.kind == "receipt"
            ]
        data = transfer_json(t)
        return console.page(
            request,
            "transfer.html",
            session,
            status=status if error else 200,
            t=data,
            state=t.state.value,
            steps=[s.value for s in STEPS],
            can=possible(t.state),
            downloadable=t.role is Role.CONSUMER and t.format.endswith("PULL") and t.state is T.STARTED,
            received=t.role is Role.CONSUMER and t.format.endswith("PUSH") and t.state is T.COMPLETED,
            uses=uses,
            bytes_total=sum(u["bytes"] for u in uses if u["counted"] and u["state"] != "aborted"),
            error=error,
        )

    @r.get("/transfers", include_in_schema=False)
    async def transfers(request: Request, session: Annotated[Session, Depends(auth)], agreement: str = "") -> Response:
        async with console.get().runtime.store.transaction() as tx:
            items = (await tx.transfers.list(limit=200, agreement_id=agreement or None)).items
        rows = sorted((transfer_json(t) for t in items), key=lambda t: t["updatedAt"], reverse=True)
        return console.page(request, "transfers.html", session, rows=rows, agreement=agreement)

    @r.post("/transfers", include_in_schema=False)
    async def start(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        form = await request.form()
        agreement_id = str(form.get("agreement_id") or "")
        kind = str(form.get("format") or "HttpData-PULL")
        address: dict[str, Any] | None = None
        if kind == "HttpData-PUSH" and str(form.get("push_url") or "").strip():
            url = str(form.get("push_url") or "").strip()
            if not url.startswith(("http://", "https://")):
                return console.page(
                    request,
                    "missing.html",
                    session,
                    status=400,
                    what="transfer",
                    error="A push goes to an http(s):// address (or leave it empty for this connector's inbox).",
                )
            address = {"@type": "DataAddress", "endpointType": HTTP_ENDPOINT_TYPE, "endpoint": url}
        try:
            t = await console.get().transfers.start(
                agreement_id=agreement_id,
                format=kind,
                data_address=address,
                inbox=request.app.state.usage.inbox.data_address,  # a push without an address lands in our inbox
            )
        except (ConnectorError, DspError, NotFound) as exc:
            return console.page(
                request,
                "missing.html",
                session,
                status=400,
                what="transfer",
                error=f"The transfer could not start: {_message(exc)}",
            )
        return RedirectResponse(f"{PREFIX}/transfers/{t.id}?notice=transfer-started", status_code=303)

    @r.get("/transfers/{transfer_id}", include_in_schema=False)
    async def transfer(request: Request, transfer_id: str, session: Annotated[Session, Depends(auth)]) -> Response:
        return await detail(request, session, transfer_id)

    @r.get("/transfers/{transfer_id}/data", include_in_schema=False)
    async def download(
        request: Request, transfer_id: str, session: Annotated[Session, Depends(auth)], purpose: str = ""
    ) -> Response:
        """Pull the data through the transfer's data address (the provider decides on this access; a refusal is
        shown on the transfer page with its reason), streamed to the browser as a download."""
        usage: UsageControl = request.app.state.usage
        try:
            async with console.get().runtime.store.transaction() as tx:
                pushed = (await tx.transfers.get(transfer_id)).format == "HttpData-PUSH"
            if pushed:  # what the provider pushed into our inbox
                opened = await usage.inbox.open(transfer_id)
            else:
                opened = await usage.receipts.fetch(transfer_id, purpose=purpose.strip() or None)
        except NotFound:
            return console.page(request, "missing.html", session, status=404, what=f"transfer {transfer_id}")
        except AccessDenied as exc:
            return await detail(request, session, transfer_id, error=gloss(exc.message), status=403)
        except (ConnectorError, DspError) as exc:
            return await detail(request, session, transfer_id, error=_message(exc))
        response = MeteredResponse(opened, watch_disconnect=True)
        async with console.get().runtime.store.transaction() as tx:
            asset_id = (await tx.transfers.get(transfer_id)).asset_id or "data"
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", asset_id).strip("._") or "data"
        response.headers["content-disposition"] = f'attachment; filename="{name}"'
        response.headers["cache-control"] = "no-store"
        return response

    @r.post("/transfers/{transfer_id}/{action}", include_in_schema=False)
    async def act(
        request: Request, transfer_id: str, action: str, session: Annotated[Session, Depends(auth)]
    ) -> Response:
        if action not in ACTIONS:
            return console.page(request, "missing.html", session, status=404, what=f"action {action}")
        form = await request.form()
        reason = str(form.get("reason") or "").strip() or None
        try:
            await console.get().transfers.act(transfer_id, action, reason)
        except NotFound:
            return console.page(request, "missing.html", session, status=404, what=f"transfer {transfer_id}")
        except (ConnectorError, DspError) as exc:
            return await detail(request, session, transfer_id, error=_message(exc))
        return RedirectResponse(f"{PREFIX}/transfers/{transfer_id}?notice=transfer-updated", status_code=303)

    return r
