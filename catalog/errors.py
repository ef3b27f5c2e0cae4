"""The one error base of ``catalog`` (house rule 4); the HTTP API translates it once into RFC 9457 problem+json.

Named ``CatalogueError`` so it never clashes with the DSP wire type :class:`connector.dsp.CatalogError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class CatalogueError(Exception):
    """Base of every error the catalogue raises on purpose: a stable ``code``, an HTTP ``status`` and one line."""

    code: str = "catalogue-error"
    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extensions: dict[str, Any] = dict(extensions or {})

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class CatalogueConfigurationError(CatalogueError):
    """The configuration or state folder is unusable; the message says how to fix it."""

    code = "configuration-error"
    status = 500


class SubmissionRefused(CatalogueError):
    """A submission was not even assessed: too large, not a presentation, malformed (nothing is stored)."""

    code = "submission-refused"
    status = 400


class AdmissionRejected(CatalogueError):
    """A presentation failed verification; ``checks`` lists every failed check (the rejection is recorded)."""

    code = "admission-rejected"
    status = 422

    def __init__(self, message: str, *, checks: Sequence[Mapping[str, Any]], participant: str | None) -> None:
        super().__init__(message, extensions={"checks": list(checks), "participant": participant})
        self.checks = list(checks)
        self.participant = participant


class NotFound(CatalogueError):
    code = "not-found"
    status = 404


class Unauthorized(CatalogueError):
    code = "unauthorized"
    status = 401


class Forbidden(CatalogueError):
    code = "forbidden"
    status = 403


class Conflict(CatalogueError):
    code = "conflict"
    status = 409


class QueryRefused(CatalogueError):
    """A discovery or SPARQL query was refused (update, SERVICE, syntax, limits); nothing was evaluated or changed."""

    code = "query-refused"
    status = 400


class QueryTimeout(CatalogueError):
    code = "query-timeout"
    status = 503


class UpstreamError(CatalogueError):
    """A member connector or peer catalogue could not be reached or answered badly (crawl, federation)."""

    code = "upstream-error"
    status = 502
