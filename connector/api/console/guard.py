"""Who may use the console: a signed session cookie for every page, a CSRF token on every form POST.

Sign-in takes the management API key (the same secret as ``X-Api-Key``) and sets ``gxc_console``: HttpOnly,
SameSite=Strict, ``Secure`` over HTTPS, path ``/console``. Every POST must carry the session's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``) and, when the browser sends one, an ``Origin`` equal to ours — so a page
elsewhere can neither read nor forge console actions even if SameSite were not honoured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connector.api.console.context import PREFIX, SECURITY_HEADERS, ConsoleContext
from connector.api.console.session import Session, same_token

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No valid session: the browser is sent to the sign-in page and back to ``next`` afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A POST without the session's CSRF token or from another origin."""


def same_origin(request: Request) -> bool:
    """True unless the browser says the request comes from another origin (``Origin``, else ``Referer``)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return claimed is None
    parts = urlsplit(claimed)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


async def check_csrf(request: Request, expected: str) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not same_origin(request) or not same_token(given, expected):
        raise CsrfRejected()


def require_session(console: ConsoleContext) -> Callable[[Request], Awaitable[Session]]:
    """Dependency of every console page: the session, or a redirect to sign in; POSTs also pass the CSRF check."""

    async def dependency(request: Request) -> Session:
        session = console.session(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target if request.method == "GET" else PREFIX + "/")
        if request.method == "POST":
            await check_csrf(request, session.csrf)
        return session

    return dependency


def safe_next(value: str | None) -> str:
    """Only console paths are valid targets after sign-in (no open redirect)."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"


def install(app: FastAPI) -> None:
    """Turn the console's two refusals into a redirect and an HTML page (the API keeps its problem+json)."""

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"{PREFIX}/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    async def refused(request: Request, exc: Exception) -> Response:
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Request refused</title>"
            f"<link rel=stylesheet href='{PREFIX}/static/console.css'><main class=narrow><h1>Request refused</h1>"
            "<p>The form was not sent from this console page (missing or stale security token). "
            f"Go back, reload the page and try again, or <a href='{PREFIX}/'>start over</a>.</p></main>"
        )
        return HTMLResponse(body, status_code=403, headers=SECURITY_HEADERS)

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CsrfRejected, refused)
