"""The connector's web console under ``/console`` (issue 10): server-rendered pages for data stewards and buyers.

Pages: overview, datasets (register with a policy from templates or ODRL checked as you type; the generated
self-description; publish), discover (federated catalogue search and a peer's catalog, offers in plain words),
negotiations (start, live state, accept / counter / terminate, failure reasons), agreements, transfers (pull / push,
download, suspend / resume / complete / terminate, bytes), usage (ledger timeline with verification, obligations).

Access: sign in with the management API key → signed HttpOnly SameSite=Strict session cookie; CSRF token on every
POST (see :mod:`.guard`). The routes call the same services and store as the management API.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from connector.api.console import (
    assets,
    datasets,
    discover,
    events,
    login,
    negotiations,
    overview,
    transfers,
    usage,
)
from connector.api.console.context import PREFIX, ConsoleContext
from connector.api.console.guard import install
from connector.api.console.session import SessionSigner
from connector.services.assembly import Connector
from connector.settings import ConnectorSettings

__all__ = ["PREFIX", "mount"]


def mount(app: FastAPI, settings: ConnectorSettings, get: Callable[[], Connector]) -> None:
    """Serve the console at ``/console`` on ``app``. Without a management API key it only says how to enable it."""
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else None
    extra = tuple(u for u in os.environ.get("GXC_CATALOG_URL", "").split(",") if u.strip())
    console = ConsoleContext(settings=settings, get=get, signer=SessionSigner(key) if key else None, catalogues=extra)
    r = APIRouter(prefix=PREFIX)
    r.include_router(assets.router())
    pages = (login, overview, datasets, discover, negotiations, transfers, usage, events)
    for build in (page.router for page in pages):
        r.include_router(build(console))
    install(app)
    app.include_router(r)

    async def bare() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)

    app.add_api_route(PREFIX, bare, include_in_schema=False)
