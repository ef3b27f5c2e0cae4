"""Sign-in with the management API key, sign-out, and a brake on guessing the key.

The sign-in form is itself protected against login CSRF with a double-submit token (a short-lived
``gxc_console_login`` cookie whose value the form repeats), because there is no session yet to bind a token to.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

import datetime as dt
import secrets
from collections import deque

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from connector.api.console.context import PREFIX, ConsoleContext
from connector.api.console.guard import require_session, safe_next, same_origin
from connector.api.console.session import Session, same_token

#: At most this many wrong keys per client address in ``WINDOW``; then sign-in waits.
MAX_FAILURES = 10
WINDOW = dt.timedelta(minutes=5)


class Throttle:
    """Counts recent failed sign-ins per client address (in memory: one connector process)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[dt.datetime]] = {}

    def blocked(self, client: str, now: dt.datetime) -> bool:
        recent = self._failures.get(client)
        if not recent:
            return False
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        return len(recent) >= MAX_FAILURES

    def failed(self, client: str, now: dt.datetime) -> None:
        if len(self._failures) > 10_000:
            self._failures.clear()
        self._failures.setdefault(client, deque()).append(now)


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    throttle = Throttle()
    expected = console.settings.management_api_key

    def form_page(request: Request, *, next_path: str, error: str = "", status: int = 200) -> Response:
        token = secrets.token_urlsafe(24)
        response = console.page(
            request,
            "login.html",
            None,
            status=status,
            disabled=expected is None,
            error=error,
            next=next_path,
            login_token=token,
        )
        response.set_cookie(
            console.login_cookie,
            token,
            max_age=1800,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=console.secure,
        )
        return response

    @r.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if console.session(request) is not None:
            return RedirectResponse(next_path, status_code=303)
        return form_page(request, next_path=next_path)

    @r.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        next_path = safe_next(str(form.get("next") or ""))
        if expected is None or console.signer is None:
            return form_page(request, next_path=next_path, status=503)
        if not same_origin(request) or not same_token(
            str(form.get("login_token") or ""), request.cookies.get(console.login_cookie) or "\0"
        ):
            return form_page(
                request, next_path=next_path, error="The sign-in form expired. Please try again.", status=403
            )
        client = request.client.host if request.client else "unknown"
        now = console.now()
        if throttle.blocked(client, now):
            return form_page(
                request,
                next_path=next_path,
                error="Too many wrong keys from this address. Wait a few minutes and try again.",
                status=429,
            )
        if not same_token(str(form.get("api_key") or ""), expected.get_secret_value()):
            throttle.failed(client, now)
            return form_page(request, next_path=next_path, error="That key is not this connector's key.", status=401)
        value, _ = console.signer.issue(now)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            console.cookie,
            value,
            max_age=console.signer.max_age(),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=console.secure,
        )
        response.delete_cookie(console.login_cookie, path=PREFIX)
        return response

    @r.post("/logout", include_in_schema=False)
    async def logout(session: Session = Depends(require_session(console))) -> Response:  # noqa: B008
        if console.signer is not None:
            console.signer.end(session)
        response = RedirectResponse(f"{PREFIX}/login?notice=signed-out", status_code=303)
        response.delete_cookie(console.cookie, path=PREFIX, httponly=True, samesite="strict", secure=console.secure)
        return response

    return r
