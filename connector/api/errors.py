"""Translation of errors at the HTTP edge (house rule 4): ConnectorError -> RFC 9457 problem+json.

DSP routes will answer with the DSP error bodies instead (added with the protocol endpoints).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from connector.errors import ConfigurationError, ConnectorError

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, code: str) -> JSONResponse:
    body = {"type": f"urn:gxc:error:{code}", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(ConnectorError)
    async def _connector_error(request: Request, exc: ConnectorError) -> JSONResponse:
        status = 500 if isinstance(exc, ConfigurationError) else 400
        return problem(status, type(exc).__name__, exc.message, exc.code)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The caller went away while we read its body (a peer that died or gave up): nothing was applied and
        # nobody is left to answer, so this is not an application error worth a traceback.
        log.info("client disconnected before its request body arrived", extra={"path": request.url.path})
        return Response(status_code=400)
