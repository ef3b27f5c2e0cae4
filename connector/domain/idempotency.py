"""Idempotency keys of management API POSTs (IETF draft ``Idempotency-Key`` header).

A repeated request with the same key and the same request hash gets the stored response; the same key with a
different hash is a client error the API layer reports.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject


class IdempotencyRecord(Entity):
    """The response first given for ``key``."""

    key: str = Field(min_length=1)
    #: A hash of the request (method, path, body) so a reused key with a different request is detected.
    request_hash: str
    status_code: int = 200
    response: JsonObject
    created_at: AwareDatetime
