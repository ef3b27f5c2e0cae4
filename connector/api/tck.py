"""TCK mode's trigger endpoints (DSP TCK v1.0.1 README §2.4 and §2.5): for the consumer-side test cases
(``CN_C``, ``TP_C``) the TCK asks the connector under test to start a negotiation or a transfer against the TCK.

Mounted only by ``gxc connector serve --tck``; like EDC's ``TckWebhookController`` they take no credentials (the
TCK sends none), which is why TCK mode is for conformance runs only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connector.api.management.problems import to_problem
from connector.errors import ConnectorError
from connector.services.negotiations import negotiation_json
from connector.services.tck import TCK_PARTICIPANT, TRANSFER_FORMAT, TckDirector
from connector.services.transfers import transfer_json

PREFIX = "/tck"


class NegotiationTrigger(BaseModel):
    """``{"datasetId", "offerId", "providerId", "connectorAddress"}`` as the TCK posts it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    dataset_id: str = Field(alias="datasetId", min_length=1)
    offer_id: str | None = Field(None, alias="offerId")
    provider_id: str = Field(TCK_PARTICIPANT, alias="providerId")
    connector_address: str = Field(alias="connectorAddress", min_length=1)


class TransferTrigger(BaseModel):
    """``{"agreementId", "format", "providerId", "connectorAddress"}`` as the TCK posts it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    agreement_id: str = Field(alias="agreementId", min_length=1)
    format: str = TRANSFER_FORMAT
    provider_id: str = Field(TCK_PARTICIPANT, alias="providerId")
    connector_address: str = Field(alias="connectorAddress", min_length=1)


def router(get: Callable[[], TckDirector]) -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["TCK mode"])

    @r.post("/negotiations/requests", summary="TCK trigger: start a negotiation with the TCK (CN_C tests)")
    async def negotiation_request(body: NegotiationTrigger) -> Any:
        try:
            n = await get().start_negotiation(
                dataset_id=body.dataset_id,
                offer_id=body.offer_id or f"urn:uuid:tck-offer:{body.dataset_id}",
                provider_id=body.provider_id,
                connector_address=body.connector_address,
            )
        except ConnectorError as exc:
            return to_problem(exc)
        return JSONResponse(negotiation_json(n))

    @r.post("/transfers/requests", summary="TCK trigger: start a transfer with the TCK (TP_C tests)")
    async def transfer_request(body: TransferTrigger) -> Any:
        try:
            t = await get().start_transfer(
                agreement_id=body.agreement_id,
                format=body.format,
                provider_id=body.provider_id,
                connector_address=body.connector_address,
            )
        except ConnectorError as exc:
            return to_problem(exc)
        return JSONResponse(transfer_json(t))

    return r
