"""Contract Negotiation Protocol messages (DSP 2025-1 §negotiation, schemas ``negotiation/*-schema.json``).

The ``offer`` and ``agreement`` are ODRL policies in the compact form, carried as validated ``dict``; the schema
checks their shape, the services layer interprets them with ``policies``. Each message exposes ``kind``, the
:class:`~connector.dsp.states.NegotiationMessageKind` that :func:`connector.dsp.negotiation.next_state` takes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from connector.dsp.catalog import OdrlPolicy
from connector.dsp.errors import DspError
from connector.dsp.states import NegotiationEventType, NegotiationMessageKind, NegotiationState
from connector.dsp.wire import DspModel


class ContractRequestMessage(DspModel):
    """DSP 2025-1 §negotiation "Contract Request Message" (consumer → provider).

    Initial (``POST /negotiations/request``) with ``callbackAddress`` or a counter-offer
    (``POST /negotiations/:providerPid/request``) with ``providerPid``: the schema's ``oneOf`` allows exactly one of
    the two. The ``offer`` must carry the catalog offer's ``@id`` and the dataset ``target``.
    """

    type_: Literal["ContractRequestMessage"] = Field("ContractRequestMessage", alias="@type")
    consumer_pid: str = Field(alias="consumerPid")
    provider_pid: str | None = Field(None, alias="providerPid")
    offer: OdrlPolicy
    callback_address: str | None = Field(None, alias="callbackAddress")

    @model_validator(mode="after")
    def _exactly_one_of_callback_or_provider_pid(self) -> ContractRequestMessage:
        if (self.callback_address is None) == (self.provider_pid is None):
            raise ValueError("exactly one of callbackAddress (initial request) or providerPid (counter-offer)")
        return self

    @property
    def initial(self) -> bool:
        """True for the request that creates the negotiation (no ``providerPid`` yet)."""
        return self.provider_pid is None

    @property
    def kind(self) -> NegotiationMessageKind:
        return NegotiationMessageKind.REQUEST


class ContractOfferMessage(DspModel):
    """DSP 2025-1 §negotiation "Contract Offer Message" (provider → consumer).

    Initial (``POST /negotiations/offers`` at the consumer) with ``callbackAddress``, or a counter-offer
    (``POST :callback/negotiations/:consumerPid/offers``) with ``consumerPid``; exactly one of the two (``oneOf``).
    """

    type_: Literal["ContractOfferMessage"] = Field("ContractOfferMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str | None = Field(None, alias="consumerPid")
    offer: OdrlPolicy
    callback_address: str | None = Field(None, alias="callbackAddress")

    @model_validator(mode="after")
    def _exactly_one_of_callback_or_consumer_pid(self) -> ContractOfferMessage:
        if (self.callback_address is None) == (self.consumer_pid is None):
            raise ValueError("exactly one of callbackAddress (initial offer) or consumerPid (counter-offer)")
        return self

    @property
    def initial(self) -> bool:
        return self.consumer_pid is None

    @property
    def kind(self) -> NegotiationMessageKind:
        return NegotiationMessageKind.OFFER


class ContractAgreementMessage(DspModel):
    """DSP 2025-1 §negotiation "Contract Agreement Message" (provider → consumer,
    ``POST :callback/negotiations/:consumerPid/agreement``). The Agreement needs ``@id``, ``target``, ``assigner``,
    ``assignee`` and ``timestamp``."""

    type_: Literal["ContractAgreementMessage"] = Field("ContractAgreementMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    agreement: OdrlPolicy

    @property
    def kind(self) -> NegotiationMessageKind:
        return NegotiationMessageKind.AGREEMENT


class ContractAgreementVerificationMessage(DspModel):
    """DSP 2025-1 §negotiation "Contract Agreement Verification Message" (consumer → provider,
    ``POST /negotiations/:providerPid/agreement/verification``)."""

    type_: Literal["ContractAgreementVerificationMessage"] = Field(
        "ContractAgreementVerificationMessage", alias="@type"
    )
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")

    @property
    def kind(self) -> NegotiationMessageKind:
        return NegotiationMessageKind.VERIFICATION


class ContractNegotiationEventMessage(DspModel):
    """DSP 2025-1 §negotiation "Contract Negotiation Event Message".

    ``ACCEPTED`` goes consumer → ``/negotiations/:providerPid/events``; ``FINALIZED`` goes provider →
    ``:callback/negotiations/:consumerPid/events``.
    """

    type_: Literal["ContractNegotiationEventMessage"] = Field("ContractNegotiationEventMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    event_type: NegotiationEventType = Field(alias="eventType")

    @property
    def kind(self) -> NegotiationMessageKind:
        if self.event_type is NegotiationEventType.ACCEPTED:
            return NegotiationMessageKind.ACCEPTED
        return NegotiationMessageKind.FINALIZED


class ContractNegotiationTerminationMessage(DspModel):
    """DSP 2025-1 §negotiation "Contract Negotiation Termination Message" (either side, to the other's
    ``.../termination``), optionally with a ``code`` and ``reason``."""

    type_: Literal["ContractNegotiationTerminationMessage"] = Field(
        "ContractNegotiationTerminationMessage", alias="@type"
    )
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    code: str | None = None
    reason: list[Any] | None = Field(None, min_length=1)

    @property
    def kind(self) -> NegotiationMessageKind:
        return NegotiationMessageKind.TERMINATION


class ContractNegotiation(DspModel):
    """DSP 2025-1 §negotiation "Contract Negotiation": the ACK body (201 on creation, ``GET`` answers)."""

    type_: Literal["ContractNegotiation"] = Field("ContractNegotiation", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    state: NegotiationState


class ContractNegotiationError(DspModel):
    """DSP 2025-1 §negotiation "Contract Negotiation Error": the body of a 4xx answer.

    The schema requires both pids; they are optional here only because an unparseable request may not reveal them.
    Pass what is known (the path parameter, the parsed body) to :meth:`from_error`.
    """

    type_: Literal["ContractNegotiationError"] = Field("ContractNegotiationError", alias="@type")
    provider_pid: str | None = Field(None, alias="providerPid")
    consumer_pid: str | None = Field(None, alias="consumerPid")
    code: str | None = None
    reason: list[Any] | None = Field(None, min_length=1)

    @classmethod
    def from_error(
        cls, error: DspError, *, provider_pid: str | None = None, consumer_pid: str | None = None
    ) -> ContractNegotiationError:
        return cls(provider_pid=provider_pid, consumer_pid=consumer_pid, code=error.code, reason=list(error.reason))
