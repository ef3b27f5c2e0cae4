"""``Idempotency-Key`` for management POSTs (IETF draft-ietf-httpapi-idempotency-key-header).

The first request with a key stores its answer; a retry with the same key and the same body gets that answer
again without repeating the work; the same key with a different body is a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from connector.api.management.problems import ProblemError
from connector.domain import IdempotencyRecord
from connector.services.assembly import Connector
from connector.store.errors import DuplicateKey

HEADER = "Idempotency-Key"


async def idempotent(
    request: Request, connector: Connector, body: Any, produce: Callable[[], Awaitable[tuple[int, Any]]]
) -> JSONResponse:
    key = request.headers.get(HEADER)
    if key is None:
        status, payload = await produce()
        return JSONResponse(payload, status_code=status)
    if not 1 <= len(key) <= 200:
        raise ProblemError(400, "bad-idempotency-key", f"{HEADER} must be 1 to 200 characters")
    scoped = f"{request.method} {request.url.path} {key}"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    store = connector.runtime.store
    async with store.transaction() as tx:
        found = await tx.idempotency.find(scoped)
    if found is not None:
        if found.request_hash != digest:
            raise ProblemError(422, "idempotency-key-reused", f"{HEADER} {key!r} was used with a different request")
        return JSONResponse(found.response, status_code=found.status_code, headers={"Idempotent-Replayed": "true"})
    status, payload = await produce()
    if status < 500:
        try:
            async with store.transaction() as tx:
                await tx.idempotency.add(
                    IdempotencyRecord(
                        key=scoped,
                        request_hash=digest,
                        status_code=status,
                        response=payload if isinstance(payload, dict) else {"items": payload},
                        created_at=connector.runtime.now(),
                    )
                )
        except DuplicateKey:
            pass  # a concurrent request with the same key stored its answer first; ours is equivalent
    return JSONResponse(payload, status_code=status)
