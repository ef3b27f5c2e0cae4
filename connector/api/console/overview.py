"""The console's first page: what this connector is, and how much of everything it has, with the next steps."""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from connector.api.console.context import ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.session import Session
from connector.dsp.states import NegotiationState, TransferState


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    @r.get("/", include_in_schema=False)
    async def overview(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        c = console.get()
        async with c.runtime.store.transaction() as tx:
            assets = len((await tx.assets.list(limit=1000)).items)
            negotiations = (await tx.negotiations.list(limit=1000)).items
            agreements = len((await tx.agreements.list(limit=1000, in_force=True)).items)
            transfers = (await tx.transfers.list(limit=1000)).items
        waiting = [n for n in negotiations if n.pending and not n.state.terminal]
        tiles = [
            ("Datasets", assets, "/datasets"),
            ("Negotiations", len(negotiations), "/negotiations"),
            ("Waiting for you", len(waiting), "/negotiations"),
            ("Agreements", agreements, "/agreements"),
            ("Running transfers", sum(t.state is TransferState.STARTED for t in transfers), "/transfers"),
            ("Finalized", sum(n.state is NegotiationState.FINALIZED for n in negotiations), "/negotiations"),
        ]
        return console.page(
            request,
            "overview.html",
            session,
            tiles=tiles,
            base_url=console.settings.base_url,
            catalogues=list(c.catalog_urls),
        )

    return r
