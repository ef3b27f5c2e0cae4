"""Transfer Process Protocol messages (DSP 2025-1 §transfer, schemas ``transfer/*-schema.json``).

Each message exposes ``kind``, the :class:`~connector.dsp.states.TransferMessageKind` that
:func:`connector.dsp.transfer.next_state` takes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from connector.dsp.errors import DspError
from connector.dsp.states import TransferMessageKind, TransferState
from connector.dsp.wire import DspModel


class EndpointProperty(DspModel):
    """DSP 2025-1 §transfer "Data Address" endpoint property; well-known names ``authorization`` and ``authType``."""

    type_: Literal["EndpointProperty"] = Field("EndpointProperty", alias="@type")
    name: str
    value: str


class DataAddress(DspModel):
    """DSP 2025-1 §transfer "Data Address": where to push (in a request) or pull (in a start message) the data.

    ``endpoint`` is optional since 2025-1 (#176); ``endpointProperties`` may not be an empty list.
    """

    type_: Literal["DataAddress"] = Field("DataAddress", alias="@type")
    endpoint_type: str = Field(alias="endpointType")
    endpoint: str | None = None
    endpoint_properties: list[EndpointProperty] | None = Field(None, alias="endpointProperties", min_length=1)

    def property(self, name: str) -> str | None:
        """The value of the endpoint property ``name`` (e.g. ``authorization``), or None."""
        for prop in self.endpoint_properties or ():
            if prop.name == name:
                return prop.value
        return None


class TransferRequestMessage(DspModel):
    """DSP 2025-1 §transfer "Transfer Request Message" (consumer → ``POST /transfers/request``, 201).

    ``dataAddress`` only for push transfers. Providers should be idempotent on ``consumerPid``.
    """

    type_: Literal["TransferRequestMessage"] = Field("TransferRequestMessage", alias="@type")
    consumer_pid: str = Field(alias="consumerPid")
    agreement_id: str = Field(alias="agreementId")
    format: str
    callback_address: str = Field(alias="callbackAddress")
    data_address: DataAddress | None = Field(None, alias="dataAddress")

    @property
    def kind(self) -> TransferMessageKind:
        return TransferMessageKind.REQUEST


class TransferStartMessage(DspModel):
    """DSP 2025-1 §transfer "Transfer Start Message" (provider starts, either side resumes); ``dataAddress`` for
    pull transfers."""

    type_: Literal["TransferStartMessage"] = Field("TransferStartMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    data_address: DataAddress | None = Field(None, alias="dataAddress")

    @property
    def kind(self) -> TransferMessageKind:
        return TransferMessageKind.START


class TransferSuspensionMessage(DspModel):
    """DSP 2025-1 §transfer "Transfer Suspension Message" (either side), optionally with ``code`` and ``reason``."""

    type_: Literal["TransferSuspensionMessage"] = Field("TransferSuspensionMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    code: str | None = None
    reason: list[Any] | None = Field(None, min_length=1)

    @property
    def kind(self) -> TransferMessageKind:
        return TransferMessageKind.SUSPENSION


class TransferCompletionMessage(DspModel):
    """DSP 2025-1 §transfer "Transfer Completion Message" (either side)."""

    type_: Literal["TransferCompletionMessage"] = Field("TransferCompletionMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")

    @property
    def kind(self) -> TransferMessageKind:
        return TransferMessageKind.COMPLETION


class TransferTerminationMessage(DspModel):
    """DSP 2025-1 §transfer "Transfer Termination Message" (either side), optionally with ``code`` and ``reason``."""

    type_: Literal["TransferTerminationMessage"] = Field("TransferTerminationMessage", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    code: str | None = None
    reason: list[Any] | None = Field(None, min_length=1)

    @property
    def kind(self) -> TransferMessageKind:
        return TransferMessageKind.TERMINATION


class TransferProcess(DspModel):
    """DSP 2025-1 §transfer "Transfer Process": the ACK body (201 on creation, ``GET /transfers/:providerPid``)."""

    type_: Literal["TransferProcess"] = Field("TransferProcess", alias="@type")
    provider_pid: str = Field(alias="providerPid")
    consumer_pid: str = Field(alias="consumerPid")
    state: TransferState


class TransferError(DspModel):
    """DSP 2025-1 §transfer "Transfer Error": the body of a 4xx answer.

    The schema requires both pids; optional here only because an unparseable request may not reveal them.
    """

    type_: Literal["TransferError"] = Field("TransferError", alias="@type")
    provider_pid: str | None = Field(None, alias="providerPid")
    consumer_pid: str | None = Field(None, alias="consumerPid")
    code: str | None = None
    reason: list[Any] | None = Field(None, min_length=1)

    @classmethod
    def from_error(
        cls, error: DspError, *, provider_pid: str | None = None, consumer_pid: str | None = None
    ) -> TransferError:
        return cls(provider_pid=provider_pid, consumer_pid=consumer_pid, code=error.code, reason=list(error.reason))
