"""The one error base of ``self_descriptions`` (house rule 4): every failure raised here derives from it."""

from __future__ import annotations


class SelfDescriptionError(Exception):
    """Base of every error raised by :mod:`self_descriptions`.

    ``code`` is a stable machine-readable identifier (used in ``--json`` verdicts and API error bodies);
    the message says what went wrong and, where possible, what to do next.
    """

    code: str = "self-description-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class KeyMaterialError(SelfDescriptionError):
    """A key could not be generated, loaded or used."""

    code = "key-error"


class CertificateError(SelfDescriptionError):
    """A certificate or chain is malformed, expired, or does not lead to a trust anchor."""

    code = "certificate-error"


class ContextNotAllowed(SelfDescriptionError):
    """A JSON-LD context URL is not on the allowlist of pinned contexts (contexts never come from the network)."""

    code = "context-not-allowed"
