"""Management of processes: peer catalogs, negotiations, agreements and transfers (plain JSON).

Failure reasons are structured (``error``: ``code``, ``reason`` in words, ``details`` with the policy report: which
rule and constraint, the actual value, which credentials were missing or invalid, the peer's HTTP answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connector.api.body import LimitedBodyRoute
from connector.api.dataplane import MeteredResponse
from connector.api.management.catalog_admin import ERRORS, MAX_SQL_INT, Limit, Offset, page_json
from connector.api.management.idempotency import idempotent
from connector.api.management.problems import ProblemError
from connector.dataplane.ledger import LedgerError
from connector.domain import Agreement
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.services.assembly import Connector
from connector.services.events import Event, Watch
from connector.services.negotiations import negotiation_json
from connector.services.transfers import transfer_json
from connector.services.usage.access import AccessDenied

MAX_WAIT_SECONDS = 60.0


class Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class CatalogRequestIn(Camel):
    counter_party_address: str = Field(alias="counterPartyAddress", examples=["https://provider.example.com"])
    counter_party_id: str | None = Field(None, alias="counterPartyId", examples=["did:web:provider.example.com"])


class NegotiationIn(Camel):
    counter_party_address: str = Field(alias="counterPartyAddress", examples=["https://provider.example.com"])
    counter_party_id: str | None = Field(None, alias="counterPartyId")
    offer_id: str = Field(alias="offerId", examples=["weather-for-members:weather-2026:3f2a9c1d0b7e"])


class CounterIn(Camel):
    offer: dict[str, Any] = Field(description="The counter-offer, an ODRL Offer in the DSP compact form")


class ReasonIn(Camel):
    reason: str = Field("terminated by the operator", examples=["no longer needed"])


class TransferIn(Camel):
    agreement_id: str = Field(alias="agreementId")
    format: Literal["HttpData-PULL", "HttpData-PUSH"] = "HttpData-PULL"
    data_address: dict[str, Any] | None = Field(
        None, alias="dataAddress", description="Push only: the DSP DataAddress to push to"
    )


class PerformedIn(Camel):
    action: str = Field(examples=["delete", "compensate"])
    transfer_id: str | None = Field(None, alias="transferId")
    details: dict[str, Any] = Field(default_factory=dict)


class DeletionIn(Camel):
    note: str | None = Field(None, max_length=1000, examples=["deleted from the analytics cluster"])


#: DSP 2025-1 §negotiation: an agreement is recorded at AGREED, in force once FINALIZED, void if the negotiation is
#: terminated before (either side may, in AGREED or VERIFIED).
InForce = Annotated[
    bool,
    Query(
        alias="inForce",
        description="true: agreements whose negotiation is FINALIZED; false: those not finalized yet or voided by "
        "a termination",
    ),
]


def agreement_json(a: Agreement, *, in_force: bool) -> dict[str, Any]:
    return {
        "id": a.id,
        "inForce": in_force,
        "negotiationId": a.negotiation_id,
        "assetId": a.asset_id,
        "providerId": a.provider_id,
        "consumerId": a.consumer_id,
        "policy": a.policy,
        "signedAt": a.signed_at.isoformat(),
    }


async def _wait(c: Connector, kind: str, process_id: str, until: set[str], seconds: float) -> None:
    """Wait (server side) until the process reaches one of ``until`` or ``seconds`` pass."""
    async with c.runtime.events.subscribe(Watch(kind, process_id)) as queue:
        async with c.runtime.store.transaction() as tx:
            current = (
                (await tx.negotiations.get(process_id)).state
                if kind == "negotiation"
                else (await tx.transfers.get(process_id)).state
            )
        if current.value in until:
            return
        await _reached(queue, kind, process_id, until, seconds)


async def _reached(
    queue: asyncio.Queue[Event], kind: str, process_id: str, until: set[str], seconds: float
) -> dict[str, Any] | None:
    """The process's JSON from the first event of ``queue`` in which it is in one of ``until`` (published after the
    commit, so it is what a read would return then); None when ``seconds`` passed first."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                event = await queue.get()
                if event.kind == kind and event.process_id == process_id and event.state in until:
                    return event.data
    except TimeoutError:
        return None


Wait = Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for a terminal state")]


def router(get: Callable[[], Connector]) -> APIRouter:
    r = APIRouter(tags=["management: processes"], responses=ERRORS, route_class=LimitedBodyRoute)

    @r.post("/catalog/request", summary="Fetch a peer's DSP catalog (as seen by us)")
    async def catalog_request(body: CatalogRequestIn) -> dict[str, Any]:
        peer = await get().offers.fetch(body.counter_party_address, body.counter_party_id)
        return {"dspBase": peer.dsp_base, "participantId": peer.participant_id, "catalog": peer.catalog}

    # -- negotiations -----------------------------------------------------------------------------------------

    @r.post("/negotiations", status_code=201, summary="Negotiate an offer from a peer's catalog")
    async def start_negotiation(body: NegotiationIn, request: Request, wait: Wait = 0) -> JSONResponse:
        c = get()

        async def produce() -> tuple[int, Any]:
            peer, dataset_id, offer = await c.offers.find(
                body.counter_party_address, body.counter_party_id, body.offer_id
            )
            if not wait:
                n = await c.negotiations.start(
                    provider_address=peer.dsp_base, provider_did=peer.participant_id, offer=offer, asset_id=dataset_id
                )
                return 201, negotiation_json(n)
            # Subscribed before the negotiation exists, so no event can be missed: no read of the state first, and
            # the final state comes with its event (a read only after a timeout).
            watch = Watch("negotiation")
            async with c.runtime.events.subscribe(watch) as queue:
                n = await c.negotiations.start(
                    provider_address=peer.dsp_base, provider_did=peer.participant_id, offer=offer, asset_id=dataset_id
                )
                watch.process_id = n.id
                final = await _reached(queue, "negotiation", n.id, {"FINALIZED", "TERMINATED"}, wait)
            if final is None:
                async with c.runtime.store.transaction() as tx:
                    final = negotiation_json(await tx.negotiations.get(n.id))
            return 201, final

        return await idempotent(request, c, body.model_dump(), produce)

    @r.get("/negotiations", summary="List negotiations")
    async def list_negotiations(
        offset: Offset = 0, limit: Limit = 50, state: NegotiationState | None = None, role: Role | None = None
    ) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.negotiations.list(offset=offset, limit=limit, state=state, role=role)
        return page_json([negotiation_json(n) for n in page.items], page.offset, page.next_offset)

    @r.get("/negotiations/{negotiation_id}", summary="One negotiation (with the failure reason, if any)")
    async def get_negotiation(negotiation_id: str, wait: Wait = 0) -> dict[str, Any]:
        c = get()
        if wait:
            await _wait(c, "negotiation", negotiation_id, {"FINALIZED", "TERMINATED"}, wait)
        async with c.runtime.store.transaction() as tx:
            return negotiation_json(await tx.negotiations.get(negotiation_id))

    @r.post("/negotiations/{negotiation_id}/accept", summary="Accept the offer (consumer) or approve (provider)")
    async def accept(negotiation_id: str) -> dict[str, Any]:
        return negotiation_json(await get().negotiations.accept(negotiation_id))

    @r.post("/negotiations/{negotiation_id}/counter", summary="Send a counter-offer")
    async def counter(negotiation_id: str, body: CounterIn) -> dict[str, Any]:
        return negotiation_json(await get().negotiations.counter(negotiation_id, body.offer))

    @r.post("/negotiations/{negotiation_id}/terminate", summary="Terminate a negotiation")
    async def terminate(negotiation_id: str, body: ReasonIn) -> dict[str, Any]:
        return negotiation_json(await get().negotiations.terminate(negotiation_id, body.reason))

    # -- agreements ---------------------------------------------------------------------------------------------

    @r.get("/agreements", summary="List agreements")
    async def list_agreements(
        offset: Offset = 0, limit: Limit = 50, asset_id: str | None = None, in_force: InForce = True
    ) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.agreements.list(offset=offset, limit=limit, asset_id=asset_id, in_force=in_force)
        return page_json([agreement_json(a, in_force=in_force) for a in page.items], page.offset, page.next_offset)

    @r.get("/agreements/{agreement_id}", summary="One agreement")
    async def get_agreement(agreement_id: str) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            agreement = await tx.agreements.get(agreement_id)
            negotiation = await tx.negotiations.get(agreement.negotiation_id)
        return agreement_json(agreement, in_force=negotiation.state is NegotiationState.FINALIZED)

    # -- transfers -------------------------------------------------------------------------------------------------

    @r.post("/transfers", status_code=201, summary="Start a transfer under an agreement (consumer)")
    async def start_transfer(body: TransferIn, request: Request, wait: Wait = 0) -> JSONResponse:
        c = get()

        async def produce() -> tuple[int, Any]:
            until = {"STARTED", "COMPLETED", "TERMINATED"}
            watch = Watch("transfer")
            async with c.runtime.events.subscribe(watch) as queue:  # before the transfer exists: no event is missed
                t = await c.transfers.start(
                    agreement_id=body.agreement_id,
                    format=body.format,
                    data_address=body.data_address,
                    inbox=request.app.state.usage.inbox.data_address,
                )
                watch.process_id = t.id
                if not wait or t.state.value in until:
                    return 201, transfer_json(t)
                final = await _reached(queue, "transfer", t.id, until, wait)
            if final is None:
                async with c.runtime.store.transaction() as tx:
                    final = transfer_json(await tx.transfers.get(t.id))
            return 201, final

        return await idempotent(request, c, body.model_dump(), produce)

    @r.get("/transfers", summary="List transfers")
    async def list_transfers(
        offset: Offset = 0, limit: Limit = 50, state: TransferState | None = None, agreement_id: str | None = None
    ) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.transfers.list(offset=offset, limit=limit, state=state, agreement_id=agreement_id)
        return page_json([transfer_json(t) for t in page.items], page.offset, page.next_offset)

    @r.get("/transfers/{transfer_id}", summary="One transfer")
    async def get_transfer(transfer_id: str, wait: Wait = 0) -> dict[str, Any]:
        c = get()
        if wait:
            await _wait(c, "transfer", transfer_id, {"STARTED", "COMPLETED", "TERMINATED"}, wait)
        async with c.runtime.store.transaction() as tx:
            return transfer_json(await tx.transfers.get(transfer_id))

    @r.post("/transfers/{transfer_id}/{action}", summary="suspend | resume | complete | terminate")
    async def act(
        transfer_id: str, action: Literal["suspend", "resume", "complete", "terminate"], body: ReasonIn | None = None
    ) -> dict[str, Any]:
        if action not in ("suspend", "resume", "complete", "terminate"):
            raise ProblemError(404, "not-found", f"unknown action {action}")
        reason = body.reason if body else None
        return transfer_json(await get().transfers.act(transfer_id, action, reason))

    # -- data and usage (issue 6) -------------------------------------------------------------------------------

    @r.get(
        "/transfers/{transfer_id}/data",
        summary="Consumer: fetch a pull transfer's data through its data address (streamed; recorded as a receipt)",
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    async def transfer_data(
        transfer_id: str,
        request: Request,
        purpose: Annotated[str | None, Query(description="The purpose declared to the provider")] = None,
    ) -> Response:
        usage = request.app.state.usage
        async with get().runtime.store.transaction() as tx:
            transfer = await tx.transfers.get(transfer_id)
        if transfer.format == "HttpData-PUSH":
            return MeteredResponse(await usage.inbox.open(transfer_id), watch_disconnect=True)
        try:
            opened = await usage.receipts.fetch(transfer_id, purpose=purpose, range_header=request.headers.get("range"))
        except AccessDenied as exc:
            raise ProblemError(403, exc.code, exc.message) from exc
        return MeteredResponse(opened, watch_disconnect=True)

    @r.get("/ledger", summary="This participant's usage ledger (signed, hash-chained records in order)")
    async def ledger(
        request: Request,
        after: Annotated[int, Query(ge=0, le=MAX_SQL_INT, description="Records after this seq")] = 0,
        limit: Limit = 100,
        transfer_id: Annotated[str | None, Query(alias="transferId")] = None,
    ) -> dict[str, Any]:
        records = await request.app.state.usage.ledger.records(after_seq=after, limit=limit, transfer_id=transfer_id)
        return {"items": [rec.to_json() for rec in records]}

    @r.get("/ledger/verify", summary="Verify the whole ledger: sequence, links, digests and signatures")
    async def verify_ledger(request: Request) -> dict[str, Any]:
        try:
            result = await request.app.state.usage.ledger.verify()
        except LedgerError as exc:
            return {"valid": False, "error": exc.message}
        return {"valid": True, "records": result.records, "headSeq": result.head_seq, "headDigest": result.head_digest}

    @r.get("/obligations", summary="Duties of agreements and their state (not-set, fulfilled, violated)")
    async def obligations(
        offset: Offset = 0, limit: Limit = 50, agreement_id: Annotated[str | None, Query(alias="agreementId")] = None
    ) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.obligations.list(offset=offset, limit=limit, agreement_id=agreement_id)
        return page_json([o.model_dump(mode="json") for o in page.items], page.offset, page.next_offset)

    @r.post("/agreements/{agreement_id}/performed", summary="Record an action performed for a duty (signed)")
    async def performed(agreement_id: str, body: PerformedIn, request: Request) -> dict[str, Any]:
        record: dict[str, Any] = await request.app.state.usage.obligations.perform(
            agreement_id, body.action, transfer_id=body.transfer_id, details=body.details
        )
        return record

    @r.post(
        "/transfers/{transfer_id}/data/deletion",
        summary="Consumer: record that a transfer's data was deleted; signs a deletion attestation and sends it to "
        "the provider (fulfils delete duties on both sides)",
    )
    async def deletion(transfer_id: str, request: Request, body: DeletionIn | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await request.app.state.usage.deletions.attest(
            transfer_id, note=body.note if body else None
        )
        return result

    return r
