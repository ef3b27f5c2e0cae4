"""Why a process failed or was terminated, kept structured so the DSP error bodies can be rebuilt from it.

DSP 2025-1 §negotiation and §transfer: ``ContractNegotiationTerminationMessage``, ``TransferTerminationMessage``
and the ``*Error`` bodies carry an optional ``code`` and a ``reason`` array.
"""

from __future__ import annotations

from pydantic import Field

from connector.domain.entity import Entity, JsonObject


class ProcessError(Entity):
    """A termination or error reason: a stable ``code``, a human ``reason`` and machine-readable ``details``."""

    code: str
    reason: str
    details: JsonObject = Field(default_factory=dict)
