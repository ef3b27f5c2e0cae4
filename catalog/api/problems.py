"""RFC 9457 problem details: the one place ``CatalogueError`` becomes an HTTP answer (house rule 4)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog.errors import CatalogueError

PROBLEM_BASE = "https://w3id.org/gxc/catalogue/problems/"
PROBLEM_JSON = "application/problem+json"


def problem(status: int, code: str, detail: str, **extensions: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + code, "title": code.replace("-", " "), "status": status, "detail": detail}
    body["code"] = code
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(CatalogueError)
    async def _catalogue_error(request: Request, exc: CatalogueError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message, **exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        return problem(400, "invalid-request", "the request does not match the API contract", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, code, str(exc.detail))


#: OpenAPI description of a problem answer, reused by every route.
PROBLEM_RESPONSE: dict[str, Any] = {
    "description": "RFC 9457 problem details",
    "content": {
        PROBLEM_JSON: {
            "example": {
                "type": PROBLEM_BASE + "admission-rejected",
                "title": "admission rejected",
                "status": 422,
                "detail": "1 check(s) failed: trusted-notary: registration number ... is not a trusted notary",
                "code": "admission-rejected",
            }
        }
    },
}
