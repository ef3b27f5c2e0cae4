"""The one error base of ``connector.dsp`` (house rule 4) and its subclasses.

Every failure the wire layer detects is a :class:`DspError` carrying what the spec's error bodies need: a stable
machine-readable ``code``, a human-readable ``reason`` list and the HTTP ``status`` the binding prescribes
(DSP 2025-1 §negotiation/§transfer HTTPS bindings: 400 for schema violations and invalid transitions, 404 for
unknown or unauthorised processes). The HTTP layer turns one into a ``CatalogError`` /
``ContractNegotiationError`` / ``TransferError`` body with ``<ErrorModel>.from_error(exc, ...)``; nothing below
``api/`` knows about HTTP exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable


class DspError(Exception):
    """Base of every error raised by :mod:`connector.dsp`.

    ``code`` is stable and machine-readable (it becomes the ``code`` of the DSP error body); ``reason`` is a list of
    human-readable strings (the error body's ``reason``); ``status`` is the HTTP status the binding prescribes.
    """

    code: str = "dsp-error"
    status: int = 400

    def __init__(self, reason: str | Iterable[str], *, code: str | None = None, status: int | None = None) -> None:
        self.reason: list[str] = [reason] if isinstance(reason, str) else list(reason)
        if not self.reason:
            self.reason = [self.code]
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__("; ".join(self.reason))


class MessageLimitExceeded(DspError):
    """The body breaks a size limit (bytes, nesting depth, array length) checked before any parsing work."""

    code = "message-limit-exceeded"


class MalformedMessage(DspError):
    """The body is not a JSON object (syntax error, wrong top-level type, bad encoding)."""

    code = "malformed-message"


class UnexpectedMessageType(DspError):
    """The ``@type`` is not the message type the endpoint accepts."""

    code = "unexpected-message-type"


class SchemaViolation(DspError):
    """The (normalised, compact) message fails the official DSP 2025-1 JSON schema or the model's rules."""

    code = "schema-violation"


class JsonLdNormalisationFailed(DspError):
    """A JSON-LD body could not be normalised into the 2025-1 compact form (unknown context, invalid JSON-LD)."""

    code = "jsonld-normalisation-failed"


class InvalidTransition(DspError):
    """The message is not allowed in the process's current state for that sender (DSP 2025-1 state machines)."""

    code = "invalid-transition"


class UnsupportedFilter(DspError):
    """A ``CatalogRequestMessage.filter`` this connector does not implement (DSP 2025-1 §catalog binding: 400)."""

    code = "unsupported-filter"


class ProcessNotFound(DspError):
    """Unknown (or not authorised: the binding answers both with 404) negotiation, transfer or dataset."""

    code = "not-found"
    status = 404


class OutboundMessageInvalid(DspError):
    """A message this connector is about to send fails the official schema: a bug on our side, never sent."""

    code = "outbound-message-invalid"
    status = 500


class CatalogConfigurationError(DspError):
    """Datasets or offers given to the catalog builder break a DSP rule (duplicate offer ``@id``, no offer ...)."""

    code = "catalog-configuration-error"
    status = 500
