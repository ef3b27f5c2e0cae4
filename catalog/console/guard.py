"""Who may use the operator pages: a signed session after signing in with an operator API key, and a CSRF token
(plus our ``Origin``) on every POST. The search page is public, like the discovery API."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.console.session import Session, SessionSigner, same_token

PREFIX = "/console"
CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send Origin: null on our own POSTs
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A POST without the session's CSRF token or from another origin."""


def same_origin(request: Request) -> bool:
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return claimed is None
    parts = urlsplit(claimed)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def safe_next(value: str | None) -> str:
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/participants"


class Guard:
    """Sessions of this catalogue's operators (key derived from all configured operator keys)."""

    def __init__(self, keys: list[str], clock: Callable[[], dt.datetime], base_url: str) -> None:
        self.keys = keys
        # Cookies are per host, not per port: two catalogues on one host must not share a session.
        self.cookie = "gxc_catalogue_" + hashlib.sha256(base_url.encode()).hexdigest()[:10]
        self.login_cookie = self.cookie + "_login"
        self.signer = SessionSigner("\0".join(sorted(keys))) if keys else None
        self.clock = clock

    def session(self, request: Request) -> Session | None:
        if self.signer is None:
            return None
        return self.signer.read(request.cookies.get(self.cookie), self.clock())

    def valid_key(self, given: str) -> bool:
        return any(same_token(given, k) for k in self.keys)

    def dependency(self) -> Callable[[Request], Awaitable[Session]]:
        async def require(request: Request) -> Session:
            session = self.session(request)
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(target if request.method == "GET" else PREFIX + "/participants")
            if request.method == "POST":
                value = (await request.form()).get(CSRF_FIELD)
                given = value if isinstance(value, str) else None
                if not same_origin(request) or not same_token(given, session.csrf):
                    raise CsrfRejected()
            return session

        return require


def install(app: FastAPI) -> None:
    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"{PREFIX}/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    async def refused(request: Request, exc: Exception) -> Response:
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Request refused</title>"
            f"<link rel=stylesheet href='{PREFIX}/static/console.css'><main class=narrow><h1>Request refused</h1>"
            "<p>The form was not sent from this console page (missing or stale security token). "
            f"Reload the page and try again, or <a href='{PREFIX}/participants'>start over</a>.</p></main>"
        )
        return HTMLResponse(body, status_code=403, headers=SECURITY_HEADERS)

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CsrfRejected, refused)
