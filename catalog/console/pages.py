"""The catalogue console's pages: public search; for operators, participants with status and the compliance report
(each check, when, against which anchors and shapes), pending admissions, admit / reject / revoke, and federation
peers with their sync state. Everything goes through :class:`catalog.service.Catalogue` and the app's runtime,
exactly as the operator API does.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(...) closures in the signatures.

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from catalog.api.runtime import Runtime
from catalog.console.guard import PREFIX, SECURITY_HEADERS, Guard, safe_next, same_origin
from catalog.console.session import Session, same_token
from catalog.errors import CatalogueError
from catalog.extract import policy_features
from catalog.model import Status
from catalog.search import FACETS

NAV = (("/", "Search"), ("/participants", "Participants"), ("/federation", "Federation"))
NOTICES = {
    "admitted": "The participant is admitted and visible in discovery.",
    "rejected": "The participant is rejected and hidden from discovery.",
    "revoked": "The participant is revoked: hidden at once, and peers learn it from the feed.",
    "synced": "Federation peers pulled.",
    "crawled": "The member's DSP catalog was crawled.",
    "reverified": "Every stored presentation was verified again.",
    "signed-out": "You are signed out.",
}
STATUS_TONE = {"admitted": "ok", "pending": "wait", "rejected": "bad", "revoked": "bad", "expired": "bad"}


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("catalog.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["tone"] = STATUS_TONE
    return env


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _policy_summary(policies: list[Any]) -> list[str]:
    """What an offer asks, from the catalogue's policy features (the full ODRL is one click away)."""
    features = policy_features([p for p in policies if isinstance(p, dict)])
    lines = []
    if features["membershipRequired"]:
        lines.append("Only for verified members of the data space.")
    if features["purposes"]:
        lines.append(
            "Only for the purpose"
            + ("s " if len(features["purposes"]) > 1 else " ")
            + ", ".join(features["purposes"])
            + "."
        )
    other = [c for c in features["constraints"] if c != "purpose" and "membership" not in c.lower()]
    if other:
        lines.append("Other conditions on: " + ", ".join(other) + ".")
    if policies and not lines:
        lines.append("No conditions: anyone may use it.")
    return lines


def router(guard: Guard) -> APIRouter:
    r = APIRouter(prefix=PREFIX)
    templates = environment()
    auth = guard.dependency()

    def page(request: Request, name: str, session: Session | None, *, status: int = 200, **values: Any) -> HTMLResponse:
        rt = _runtime(request)
        html = templates.get_template(name).render(
            prefix=PREFIX,
            nav=NAV,
            path=request.url.path,
            session=session,
            csrf=session.csrf if session else "",
            catalogue_name=rt.settings.name,
            catalogue_did=rt.identity.did,
            notice=NOTICES.get(request.query_params.get("notice", ""), ""),
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    # -- search (public) ----------------------------------------------------------------------------------------

    @r.get("/", include_in_schema=False)
    async def search(request: Request, q: str = "") -> Response:
        rt = _runtime(request)
        filters = {f: request.query_params.getlist(f) for f in FACETS}
        result = rt.catalogue.search(q, filters, offset=0, limit=50)
        blank: dict[str, Any] = {
            "title": None,
            "providerName": None,
            "description": None,
            "keywords": [],
            "policies": [],
            "endpoint": None,
            "type": [],
            "source": None,
        }
        items = [
            {**blank, **item, "summary": _policy_summary(list(item.get("policies") or []))} for item in result.items
        ]
        return page(
            request,
            "search.html",
            guard.session(request),
            q=q,
            items=items,
            total=result.total,
            facets=result.facets,
            chosen=filters,
        )

    # -- sign-in ---------------------------------------------------------------------------------------------------

    def login_page(request: Request, *, next_path: str, error: str = "", status: int = 200) -> Response:
        token = secrets.token_urlsafe(24)
        response = page(
            request,
            "login.html",
            None,
            status=status,
            disabled=guard.signer is None,
            error=error,
            next=next_path,
            login_token=token,
        )
        secure = request.url.scheme == "https"
        response.set_cookie(
            guard.login_cookie, token, max_age=1800, path=PREFIX, httponly=True, samesite="strict", secure=secure
        )
        return response

    @r.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if guard.session(request) is not None:
            return RedirectResponse(next_path, status_code=303)
        return login_page(request, next_path=next_path)

    @r.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        next_path = safe_next(str(form.get("next") or ""))
        if guard.signer is None:
            return login_page(request, next_path=next_path, status=503)
        if not same_origin(request) or not same_token(
            str(form.get("login_token") or ""), request.cookies.get(guard.login_cookie) or "\0"
        ):
            return login_page(
                request, next_path=next_path, error="The sign-in form expired. Please try again.", status=403
            )
        if not guard.valid_key(str(form.get("api_key") or "")):
            return login_page(
                request, next_path=next_path, error="That is not an operator key of this catalogue.", status=401
            )
        value, _ = guard.signer.issue(guard.clock())
        response = RedirectResponse(next_path, status_code=303)
        secure = request.url.scheme == "https"
        response.set_cookie(
            guard.cookie,
            value,
            max_age=guard.signer.max_age(),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        response.delete_cookie(guard.login_cookie, path=PREFIX)
        return response

    @r.post("/logout", include_in_schema=False)
    async def logout(session: Annotated[Session, Depends(auth)]) -> Response:
        if guard.signer is not None:
            guard.signer.end(session)
        response = RedirectResponse(f"{PREFIX}/?notice=signed-out", status_code=303)
        response.delete_cookie(guard.cookie, path=PREFIX, httponly=True, samesite="strict")
        return response

    # -- participants -----------------------------------------------------------------------------------------------

    @r.get("/participants", include_in_schema=False)
    async def participants(request: Request, session: Annotated[Session, Depends(auth)], status: str = "") -> Response:
        rt = _runtime(request)
        now = rt.clock()
        everyone = sorted(rt.catalogue.participants.values(), key=lambda p: p.did)
        counts = {s.value: 0 for s in Status}
        for p in everyone:
            counts[p.effective_status(now).value] += 1
        shown = [p.as_dict(now) for p in everyone if not status or p.effective_status(now).value == status]
        return page(request, "participants.html", session, rows=shown, counts=counts, filter_status=status)

    @r.get("/participant", include_in_schema=False)
    async def participant(request: Request, session: Annotated[Session, Depends(auth)], did: str = "") -> Response:
        return await _participant_page(request, session, did)

    async def _participant_page(request: Request, session: Session, did: str, *, error: str = "") -> Response:
        rt = _runtime(request)
        try:
            p = rt.catalogue.participant(did)
        except CatalogueError:
            return page(request, "missing.html", session, status=404, what=f"participant {did}")
        report: dict[str, Any] | None = None
        try:
            report = await rt.catalogue.report(did)
        except CatalogueError:
            report = None
        datasets = [rt.catalogue.index.records[k].data for k in sorted(rt.catalogue.index.keys_of(did))]
        return page(
            request,
            "participant.html",
            session,
            status=400 if error else 200,
            p=p.as_dict(rt.clock()),
            report=report,
            datasets=datasets,
            error=error,
        )

    @r.post("/participant/{action}", include_in_schema=False)
    async def decide(request: Request, action: str, session: Annotated[Session, Depends(auth)]) -> Response:
        rt = _runtime(request)
        form = await request.form()
        did = str(form.get("did") or "")
        reason = str(form.get("reason") or "").strip()
        try:
            if action == "admit":
                await rt.catalogue.admit(did)
                notice = "admitted"
            elif action == "reject":
                await rt.catalogue.reject(did, reason=reason or "rejected by the operator")
                notice = "rejected"
            elif action == "revoke":
                await rt.catalogue.revoke(did, reason=reason or "revoked by the operator", by="operator")
                notice = "revoked"
            elif action == "crawl":
                outcome = await rt.crawl(did)
                if not outcome.get("ok"):
                    raise CatalogueError(f"crawling failed: {outcome.get('error')}")
                notice = "crawled"
            else:
                return page(request, "missing.html", session, status=404, what=f"action {action}")
        except CatalogueError as exc:
            return await _participant_page(request, session, did, error=exc.message)
        return RedirectResponse(f"{PREFIX}/participant?did={quote(did, safe='')}&notice={notice}", status_code=303)

    # -- federation -------------------------------------------------------------------------------------------------

    async def _federation_page(request: Request, session: Session, *, results: list[Any] | None = None) -> Response:
        rt = _runtime(request)
        followed = {p.url: p.as_dict() for p in await rt.catalogue.store.peers()}
        configured = [{"url": p.url, "state": followed.get(p.url)} for p in rt.settings.peers]
        known = {p.url for p in rt.settings.peers}
        configured += [{"url": url, "state": state} for url, state in followed.items() if url not in known]
        return page(
            request,
            "federation.html",
            session,
            peers=configured,
            results=results or [],
            interval=rt.settings.federation_interval_seconds,
        )

    @r.get("/federation", include_in_schema=False)
    async def federation(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        return await _federation_page(request, session)

    @r.post("/federation/sync", include_in_schema=False)
    async def sync(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        reports = [s.as_dict() for s in await _runtime(request).sync_all()]
        return await _federation_page(request, session, results=reports)

    @r.post("/reverify", include_in_schema=False)
    async def reverify(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        await _runtime(request).catalogue.reverify_all(reason="operator request (console)")
        return RedirectResponse(f"{PREFIX}/participants?notice=reverified", status_code=303)

    return r
