"""Translation of errors at the HTTP edge (house rule 4): ConnectorError -> RFC 9457 problem+json.

DSP routes will answer with the DSP error bodies instead (added with the protocol endpoints).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connector.errors import ConfigurationError, ConnectorError

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, code: str) -> JSONResponse:
    body = {"type": f"urn:gxc:error:{code}", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(ConnectorError)
    async def _connector_error(request: Request, exc: ConnectorError) -> JSONResponse:
        status = 500 if isinstance(exc, ConfigurationError) else 400
        return problem(status, type(exc).__name__, exc.message, exc.code)
