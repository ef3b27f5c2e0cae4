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


class NegotiationEventType(StrEnum):
    """``eventType`` of a ContractNegotiationEventMessage (DSP 2025-1 §negotiation): ACCEPTED by the consumer,
    FINALIZED by the provider."""

    ACCEPTED = "ACCEPTED"
    FINALIZED = "FINALIZED"


class NegotiationMessageKind(StrEnum):
    """What drives a negotiation transition: the message ``@type``, with the event message split by ``eventType``
    because ACCEPTED and FINALIZED move the state machine differently (DSP 2025-1 §negotiation state machine)."""

    REQUEST = "ContractRequestMessage"
    OFFER = "ContractOfferMessage"
    AGREEMENT = "ContractAgreementMessage"
    VERIFICATION = "ContractAgreementVerificationMessage"
    ACCEPTED = "ContractNegotiationEventMessage:ACCEPTED"
    FINALIZED = "ContractNegotiationEventMessage:FINALIZED"
    TERMINATION = "ContractNegotiationTerminationMessage"


class TransferMessageKind(StrEnum):
    """What drives a transfer transition: the message ``@type`` (DSP 2025-1 §transfer state machine)."""

    REQUEST = "TransferRequestMessage"
    START = "TransferStartMessage"
    SUSPENSION = "TransferSuspensionMessage"
    COMPLETION = "TransferCompletionMessage"
    TERMINATION = "TransferTerminationMessage"
