"""RFC 9457 problem details for the management API, and the one translation of service errors into them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from connector.dsp.errors import DspError
from connector.errors import ConnectorError
from connector.store.errors import Conflict, DuplicateKey, NotFound
from policies import PolicyError
from self_descriptions.errors import SelfDescriptionError

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:gxc:error:not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no negotiation urn:uuid:..."])
    extra: dict[str, Any] | None = None


class ProblemError(Exception):
    def __init__(self, status: int, code: str, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def problem_response(status: int, code: str, detail: str, extra: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:gxc:error:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if extra:
        body["extra"] = extra
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def to_problem(exc: Exception) -> JSONResponse:
    if isinstance(exc, ProblemError):
        return problem_response(exc.status, exc.code, exc.detail, exc.extra)
    if isinstance(exc, NotFound):
        return problem_response(404, exc.code, exc.message)
    if isinstance(exc, DuplicateKey | Conflict):
        return problem_response(409, exc.code, exc.message)
    if isinstance(exc, PolicyError):
        return problem_response(400, exc.code, str(exc))
    if isinstance(exc, DspError):
        return problem_response(exc.status if exc.status < 500 else 502, exc.code, "; ".join(exc.reason))
    if isinstance(exc, ConnectorError | SelfDescriptionError):
        return problem_response(400, exc.code, exc.message)
    return problem_response(500, "internal-error", "unexpected error; see the connector's log")


def install(app: FastAPI) -> None:
    """Errors raised by management routes become problem+json (DSP routes catch and answer their own bodies)."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return to_problem(exc)

    app.add_exception_handler(ProblemError, handler)
    for cls in (NotFound, DuplicateKey, Conflict, PolicyError, SelfDescriptionError, ConnectorError):
        app.add_exception_handler(cls, handler)
