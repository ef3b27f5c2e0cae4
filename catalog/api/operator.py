"""Operator endpoints (``X-Api-Key``): list participants and why, admit, reject, revoke, reports, re-verification,
crawling and federation on demand. ``gxc catalog admit|reject|revoke|list|report`` call these."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from catalog.api.problems import PROBLEM_RESPONSE
from catalog.api.runtime import Runtime
from catalog.errors import Unauthorized
from catalog.model import Status
from catalog.report import render_text


class Decision(BaseModel):
    reason: str = Field("", max_length=2000, examples=["membership fee not paid"])


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    keys = _runtime(request).settings.api_key_values()
    if not keys:
        raise Unauthorized("the operator API is disabled: configure operator_api_keys", code="operator-api-disabled")
    if not x_api_key or not any(hmac.compare_digest(x_api_key.encode(), k.encode()) for k in keys):
        raise Unauthorized("missing or wrong X-Api-Key", code="invalid-api-key")


def router() -> APIRouter:
    r = APIRouter(
        prefix="/api/v1/admin",
        tags=["operator"],
        dependencies=[Depends(require_api_key)],
        responses={401: PROBLEM_RESPONSE, 404: PROBLEM_RESPONSE},
    )

    @r.get("/participants", summary="Participants with status and reason (filter by status)")
    async def participants(request: Request, status: Status | None = None) -> dict[str, Any]:
        rt = _runtime(request)
        now = rt.clock()
        items = [
            p.as_dict(now)
            for p in sorted(rt.catalogue.participants.values(), key=lambda p: p.did)
            if status is None or p.effective_status(now) is status
        ]
        return {"items": items, "total": len(items)}

    @r.get("/participants/{did}", summary="One participant with its version history")
    async def participant(request: Request, did: str) -> dict[str, Any]:
        rt = _runtime(request)
        p = rt.catalogue.participant(did)
        return {**p.as_dict(rt.clock()), "history": [s.summary() for s in await rt.catalogue.history(did)]}

    @r.get(
        "/participants/{did}/report",
        summary="Compliance report for auditors (JSON, or text with ?format=text)",
        response_model=None,
    )
    async def report(
        request: Request,
        did: str,
        format: Annotated[str, Query(pattern="^(json|text)$")] = "json",
    ) -> dict[str, Any] | Response:
        data = await _runtime(request).catalogue.report(did)
        if format == "text":
            return PlainTextResponse(render_text(data))
        return data

    @r.post(
        "/participants/{did}/admit",
        summary="Admit a pending participant (re-verified now)",
        responses={409: PROBLEM_RESPONSE, 422: PROBLEM_RESPONSE},
    )
    async def admit(request: Request, did: str) -> dict[str, Any]:
        rt = _runtime(request)
        return (await rt.catalogue.admit(did)).as_dict(rt.clock())

    @r.post("/participants/{did}/reject", summary="Reject a participant (hidden from discovery at once)")
    async def reject(request: Request, did: str, decision: Decision) -> dict[str, Any]:
        rt = _runtime(request)
        return (await rt.catalogue.reject(did, reason=decision.reason or "rejected by the operator")).as_dict(
            rt.clock()
        )

    @r.post("/participants/{did}/revoke", summary="Revoke a participant (hidden at once; peers are told)")
    async def revoke(request: Request, did: str, decision: Decision) -> dict[str, Any]:
        rt = _runtime(request)
        participant = await rt.catalogue.revoke(did, reason=decision.reason or "revoked by the operator", by="operator")
        return participant.as_dict(rt.clock())

    @r.post("/reverify", summary="Re-verify every stored presentation now")
    async def reverify(request: Request) -> dict[str, int]:
        return await _runtime(request).catalogue.reverify_all(reason="operator request")

    @r.post("/expire", summary="Record expiry of participants past their expiry now")
    async def expire(request: Request) -> dict[str, list[str]]:
        return {"expired": await _runtime(request).catalogue.sweep_expired()}

    @r.post("/participants/{did}/crawl", summary="Crawl one member's DSP catalog now")
    async def crawl_one(request: Request, did: str) -> dict[str, object]:
        return await _runtime(request).crawl(did)

    @r.post("/crawl", summary="Crawl every admitted member's DSP catalog now")
    async def crawl_all(request: Request) -> dict[str, object]:
        return {"results": await _runtime(request).crawl_all()}

    @r.post("/federation/sync", summary="Pull every peer catalogue's feed now")
    async def sync(request: Request) -> dict[str, object]:
        return {"results": [s.as_dict() for s in await _runtime(request).sync_all()]}

    @r.get("/federation/peers", summary="Followed peers: cursor, last sync, last error")
    async def peers(request: Request) -> dict[str, object]:
        return {"items": [p.as_dict() for p in await _runtime(request).catalogue.store.peers()]}

    return r
