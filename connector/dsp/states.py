"""State names of the DSP 2025-1 state machines, kept exactly as the spec spells them (house rule 8).

Contract negotiation: DSP 2025-1 §negotiation "Contract Negotiation States"; transfer process: DSP 2025-1
§transfer "Transfer Process States". The transition tables live in ``negotiation.py`` and ``transfer.py``.
"""

from __future__ import annotations

from enum import StrEnum


class NegotiationState(StrEnum):
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"

    @property
    def terminal(self) -> bool:
        return self in (NegotiationState.FINALIZED, NegotiationState.TERMINATED)


class TransferState(StrEnum):
    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"

    @property
    def terminal(self) -> bool:
        return self in (TransferState.COMPLETED, TransferState.TERMINATED)


class Role(StrEnum):
    """Which side of a process this connector plays (DSP: Consumer or Provider)."""

    CONSUMER = "consumer"
    PROVIDER = "provider"
