"""The public data plane under ``/public`` (issue 6 §1): pull endpoints and token refresh.

``GET /public/transfers/{providerPid}[/{path}]`` (also HEAD, and the methods an HTTP asset allows): the endpoint of
the ``DataAddress`` in TransferStartMessage (dsp.md §transfers). Headers:

- ``Authorization: Bearer <token>`` (the ``authorization`` endpoint property) — required;
- ``X-GXC-Purpose: <purpose IRI or token>`` or the query parameter ``gxc-purpose`` (removed before proxying) —
  the purpose the consumer declares for this use, checked against ``purpose`` constraints;
- ``X-GXC-Identity: <DCP self-issued ID token for the provider>`` — optional: lets the provider evaluate the
  consumer's *current* credentials instead of those seen at the transfer request;
- ``Range`` / ``If-Range`` (files: one byte range, 206 / 416; HTTP backends: forwarded).

Answers: 200/206 streamed (1 MiB chunks, ``ETag``, ``Accept-Ranges``, ``Repr-Digest`` when known), 401 for a
missing, forged, expired or foreign token, 403 with the reason (problem+json, ``report``) when the policy or the
transfer's state denies, 416, 502 when the source fails. ``POST /public/token`` with the current (or recently
expired) token as bearer returns a fresh one while the transfer is STARTED.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from connector.api.errors import PROBLEM_JSON
from connector.dataplane.access_tokens import AccessTokenError
from connector.dataplane.ranges import RangeNotSatisfiable
from connector.dataplane.sources import SourceError
from connector.errors import ConnectorError
from connector.services.usage.access import AccessDenied, Opened
from connector.services.usage.control import UsageControl
from connector.store.errors import NotFound

PREFIX = "/public"
PURPOSE_HEADER = "x-gxc-purpose"
PURPOSE_QUERY = "gxc-purpose"
IDENTITY_HEADER = "x-gxc-identity"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def problem(status: int, exc: ConnectorError, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:gxc:error:{exc.code}", "title": type(exc).__name__, "status": status, "detail": exc.message}
    headers = {"www-authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return JSONResponse(
        {**body, "code": exc.code, **extra}, status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


class MeteredResponse(Response):
    """Streams an :class:`Opened` body and reports whether the last byte went out (a completed use) or the client
    went away first (an aborted use). Backpressure: ``send`` waits while the client's socket buffer is full."""

    def __init__(self, opened: Opened, *, watch_disconnect: bool) -> None:
        # Not Response.__init__: it renders an empty body and then announces "content-length: 0" for an answer
        # that has no length of its own (a chunked or close-delimited backend), which uvicorn rightly refuses to
        # exceed. Without the field, uvicorn frames the answer chunked (as StreamingResponse does).
        self.status_code = opened.status
        self.background = None
        self.init_headers(opened.headers)
        self.opened = opened
        self.watch_disconnect = watch_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch()) if self.watch_disconnect else None
        chunks = self.opened.chunks
        sent, complete = 0, False
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if chunks is not None:
                async for chunk in chunks:
                    if gone.is_set():
                        break
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += len(chunk)
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                complete = not gone.is_set()
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if chunks is not None and hasattr(chunks, "aclose"):
                with contextlib.suppress(Exception):
                    await chunks.aclose()
            await self.opened.finish(sent, complete)


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def answer_error(exc: ConnectorError) -> Response:
    """The one translation of data-plane errors to HTTP."""
    if isinstance(exc, AccessTokenError):
        return problem(401, exc)
    if isinstance(exc, AccessDenied):
        return problem(403, exc, report=exc.report or None)
    if isinstance(exc, RangeNotSatisfiable):
        response = problem(416, exc)
        response.headers["content-range"] = f"bytes */{exc.size}"
        return response
    if isinstance(exc, NotFound):
        return problem(404, exc)
    if isinstance(exc, SourceError):
        return problem(502 if exc.code == "source-unavailable" else 400, exc)
    return problem(400, exc)


def router(get: Callable[[], UsageControl]) -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["data plane"])

    async def pull(provider_pid: str, request: Request, sub_path: str = "") -> Response:
        token = _bearer(request)
        if token is None:
            return problem(401, AccessTokenError("send the transfer's token as Authorization: Bearer <token>"))
        pairs = parse_qsl(request.url.query, keep_blank_values=True)
        purpose = request.headers.get(PURPOSE_HEADER) or next((v for k, v in pairs if k == PURPOSE_QUERY), None)
        query = urlencode([(k, v) for k, v in pairs if k != PURPOSE_QUERY])
        method = request.method.upper()
        body = request.stream() if method not in ("GET", "HEAD") else None
        try:
            opened = await get().access.pull(
                provider_pid,
                token,
                method=method,
                sub_path=sub_path,
                query=query,
                headers=dict(request.headers),
                purpose=purpose,
                identity=request.headers.get(IDENTITY_HEADER),
                body=body,
            )
        except ConnectorError as exc:
            return answer_error(exc)
        if method == "HEAD":
            opened.chunks = None
        return MeteredResponse(opened, watch_disconnect=body is None)

    # One route per method: a multi-method route has one operationId for all of them, which makes the OpenAPI
    # document invalid (duplicate operationId) and FastAPI warn on every /openapi.json request.
    for method in METHODS:
        for path, summary, suffix in (
            ("/transfers/{provider_pid}", "Pull the data of a transfer", ""),
            ("/transfers/{provider_pid}/{sub_path:path}", "Pull below the asset's URL", "_sub_path"),
        ):
            r.add_api_route(
                path, pull, methods=[method], summary=summary, operation_id=f"pull{suffix}_{method.lower()}"
            )

    async def inbox(consumer_pid: str, request: Request) -> Response:
        try:
            received = await get().inbox.receive(consumer_pid, request.headers.get("authorization"), request.stream())
        except ConnectorError as exc:
            status = {"dataplane-token-invalid": 401, "not-found": 404, "invalid-state": 409}.get(exc.code, 400)
            return problem(status, exc)
        return JSONResponse(received, status_code=201)

    for method in ("PUT", "POST"):
        r.add_api_route(
            "/inbox/{consumer_pid}",
            inbox,
            methods=[method],
            status_code=201,
            operation_id=f"inbox_{method.lower()}",
            summary="Consumer inbox: the provider pushes a push transfer's bytes here "
            "(bearer token of our DataAddress)",
        )

    @r.post(
        "/attestations/deletion",
        summary="Provider: a consumer's signed deletion attestation (DCP self-issued token as bearer); fulfils "
        "the agreement's delete duties",
    )
    async def deletion_attestation(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        try:
            accepted = await get().deletions.receive(request.headers.get("authorization"), body)
        except ConnectorError as exc:
            status = {"unauthenticated": 401, "not-found": 404}.get(exc.code, 400)
            return problem(status, exc)
        return JSONResponse(accepted, status_code=201)

    @r.post("/token", summary="Refresh a transfer's data-plane token (while the transfer is STARTED)")
    async def refresh(request: Request) -> Response:
        token = _bearer(request)
        if token is None:
            return problem(401, AccessTokenError("send the current token as Authorization: Bearer <token>"))
        try:
            return JSONResponse(await get().access.refresh(token))
        except ConnectorError as exc:
            return answer_error(exc)

    return r
