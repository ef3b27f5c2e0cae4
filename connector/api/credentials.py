"""Our Credential Service's Resolution API (DCP 1.0 VPP §"Resolution API"): ``POST /presentations/query``.

The verifier authenticates with its own self-issued ID token whose ``token`` claim must be an access token *we*
issued to *that* verifier (see :mod:`connector.identity.wallet`); the answer is a ``PresentationResponseMessage``
with one VP-JWT holding the credentials of the requested scopes that the access token grants. A query with both
``scope`` and ``presentationDefinition`` is a 400; a presentation definition alone is 501 (not implemented, as the
spec allows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connector.api.body import read_limited
from connector.dsp.errors import DspError
from connector.identity.tokens import AuthenticationError, verify_token
from connector.identity.wallet import check_access_token, presentation_response
from connector.services.runtime import Runtime

log = logging.getLogger(__name__)
CREDENTIAL_SERVICE_PATH = "/credentials"
MAX_QUERY_BYTES = 64 * 1024


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"type": "Error", "message": message}, status_code=status)


def router(runtime: Callable[[], Runtime]) -> APIRouter:
    r = APIRouter(prefix=CREDENTIAL_SERVICE_PATH, tags=["credential service (DCP)"])

    @r.post("/presentations/query", summary="PresentationQueryMessage -> PresentationResponseMessage")
    async def query(request: Request) -> JSONResponse:
        rt = runtime()
        try:
            verifier = await verify_token(
                request.headers.get("authorization"),
                audience=rt.identity.did,
                resolver=rt.resolver,
                jti_store=rt.store,
                now=rt.now(),
            )
            if verifier.access_token is None:
                raise AuthenticationError("the self-issued token carries no access token ('token' claim)")
            granted = check_access_token(verifier.access_token, rt.identity, verifier=verifier.did, now=rt.now())
        except AuthenticationError as exc:
            log.info("presentation query refused: %s", exc.message)
            return _error(401, exc.message)
        try:
            body: Any = json.loads(await read_limited(request, MAX_QUERY_BYTES) or b"{}")
        except (ValueError, DspError) as exc:
            return _error(400, f"malformed PresentationQueryMessage: {exc}")
        if not isinstance(body, dict) or body.get("type") != "PresentationQueryMessage":
            return _error(400, "expected a PresentationQueryMessage")
        scopes, definition = body.get("scope"), body.get("presentationDefinition")
        if scopes is not None and definition is not None:
            return _error(400, "a query may carry scope or presentationDefinition, not both")
        if definition is not None:
            return _error(501, "presentationDefinition is not supported; query by scope")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return _error(400, "scope must be a list of strings")
        allowed = [s for s in scopes if s in granted]
        return JSONResponse(
            presentation_response(rt.wallet, rt.identity, verifier=verifier.did, scopes=allowed, now=rt.now())
        )

    return r
