"""The catalogue's web console under ``/console`` (issue 10): a public search page, and for the federation operator
(signed in with an operator API key) participants with status and compliance report, pending admissions,
admit / reject / revoke, and federation peers with their sync state. Server-rendered, no CDN, strict CSP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from catalog.console import assets, pages
from catalog.console.guard import PREFIX, Guard, install
from catalog.settings import CatalogueSettings

__all__ = ["PREFIX", "mount"]


def mount(app: FastAPI, settings: CatalogueSettings, clock: Callable[[], dt.datetime]) -> None:
    """Serve the console at ``/console`` on the catalogue ``app``."""
    guard = Guard(settings.api_key_values(), clock, settings.base_url)
    install(app)
    app.include_router(assets.router())
    app.include_router(pages.router(guard))

    async def bare() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)

    app.add_api_route(PREFIX, bare, include_in_schema=False)
