"""Errors of the store; the API edge maps NotFound to 404, Conflict and DuplicateKey to 409 (house rule 4)."""

from __future__ import annotations

from connector.errors import ConnectorError


class StoreError(ConnectorError):
    """Base of every error a store raises on purpose."""

    code = "store-error"


class NotFound(StoreError):
    """The entity (or an entity it refers to) does not exist."""

    code = "not-found"


class Conflict(StoreError):
    """The stored state changed under the caller: an optimistic-lock ``version`` mismatch, a lost outbox lease,
    or a delete of an entity that others still refer to."""

    code = "conflict"


class DuplicateKey(StoreError):
    """An entity with the same id or unique key (e.g. ``(role, consumer_pid)``) already exists.

    Raised by ``add``/``enqueue``; the transaction stays usable, so a service may catch it and look the existing
    entity up (or use ``get_or_add``).
    """

    code = "duplicate-key"
