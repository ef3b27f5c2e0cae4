"""The DSP 2025-1 HTTPS binding: provider endpoints and consumer callbacks (§catalog, §negotiation, §transfer
"HTTPS Binding"), mounted under the DSP base path advertised in ``/.well-known/dspace-version``.

Every request is authenticated first (DCP self-issued token; a failure is answered 404 like an unknown process,
DSP 2025-1: "unknown or unauthorized"), then parsed and validated by :mod:`connector.dsp` (400 with the protocol's
error body), then handled by the services. Status codes: 201 for creation, 200 for other accepted messages.
Trailing slashes are tolerated on every path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connector.api.body import read_limited
from connector.dsp import (
    CatalogError,
    CatalogRequestMessage,
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationError,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    DspError,
    ProcessNotFound,
    TransferCompletionMessage,
    TransferError,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
    encode_message,
    parse_message,
    paths,
)
from connector.dsp.catalog_builder import check_filter
from connector.dsp.codec import Limits
from connector.dsp.pagination import link_header, page_from_query
from connector.dsp.states import Role
from connector.dsp.wire import DspModel
from connector.errors import ConnectorError
from connector.identity.claims import CallerClaims
from connector.identity.tokens import AuthenticationError, verify_token
from connector.services.caller import Caller
from connector.services.negotiations import Negotiations
from connector.services.provider_catalog import ProviderCatalog
from connector.services.runtime import CALLBACK_PREFIX, Runtime
from connector.services.transfers import Transfers
from connector.store.errors import Conflict, NotFound

log = logging.getLogger(__name__)
M = TypeVar("M", bound=DspModel)
LIMITS = Limits()
DSP_JSON = "application/json"


@dataclass(frozen=True)
class DspServices:
    runtime: Runtime
    catalog: ProviderCatalog
    negotiations: Negotiations
    transfers: Transfers
    #: TCK mode: recognises the TCK's static Authorization header as a fixed caller (None: DCP tokens only).
    static_caller: Callable[[str | None], Caller | None] | None = None


ErrorBody = Callable[[DspError, str | None, str | None], dict[str, Any]]


# The error schemas require both pids; the one we do not know (not in the path) is sent empty, still schema-valid.
def _negotiation_error(e: DspError, provider_pid: str | None, consumer_pid: str | None) -> dict[str, Any]:
    return ContractNegotiationError.from_error(
        e, provider_pid=provider_pid or "", consumer_pid=consumer_pid or ""
    ).to_wire()


def _transfer_error(e: DspError, provider_pid: str | None, consumer_pid: str | None) -> dict[str, Any]:
    return TransferError.from_error(e, provider_pid=provider_pid or "", consumer_pid=consumer_pid or "").to_wire()


def _catalog_error(e: DspError, provider_pid: str | None, consumer_pid: str | None) -> dict[str, Any]:
    return CatalogError.from_error(e).to_wire()


def router(get_services: Callable[[], DspServices]) -> APIRouter:
    """The routes; services are looked up per request (they are built when the app starts)."""
    r = APIRouter(tags=["dataspace protocol"])

    async def authenticate(request: Request, *, with_claims: bool) -> Caller:
        services = get_services()
        rt = services.runtime
        if services.static_caller is not None:
            known = services.static_caller(request.headers.get("authorization"))
            if known is not None:
                return known
        try:
            token = await verify_token(
                request.headers.get("authorization"),
                audience=rt.identity.did,
                resolver=rt.resolver,
                jti_store=rt.store,
                now=rt.now(),
            )
        except AuthenticationError as exc:
            log.info("DSP request refused: %s", exc.message, extra={"path": request.url.path, "reason": exc.message})
            raise ProcessNotFound("unknown process or unauthorized caller", code="unauthorized") from exc
        claims = (
            await rt.claims.claims_for(token, now=rt.now()) if with_claims else CallerClaims({"participant": token.did})
        )
        if claims.problems:
            # Policies then see fewer claims and may deny: say why here (the deny report says which claim).
            log.warning("claims of %s incomplete: %s", token.did, "; ".join(claims.problems)[:1000])
        return Caller(token, claims)

    async def handle(
        request: Request,
        error_body: ErrorBody,
        work: Callable[[], Awaitable[Response]],
        *,
        provider_pid: str | None = None,
        consumer_pid: str | None = None,
    ) -> Response:
        try:
            return await work()
        except DspError as exc:
            return JSONResponse(error_body(exc, provider_pid, consumer_pid), status_code=exc.status)
        except NotFound as exc:
            missing = ProcessNotFound(exc.message)
            return JSONResponse(error_body(missing, provider_pid, consumer_pid), status_code=404)
        except Conflict as exc:
            # The process changed under us (e.g. our ACK processing of the same process ran concurrently): the
            # message is fine, so answer 409, which senders retry, rather than a 400 that terminates the process.
            busy = DspError(f"{exc.message}; send again", code="conflict", status=409)
            return JSONResponse(error_body(busy, provider_pid, consumer_pid), status_code=409)
        except ConnectorError as exc:
            refused = DspError(exc.message, code=exc.code)
            return JSONResponse(error_body(refused, provider_pid, consumer_pid), status_code=400)

    async def body_of(request: Request, model: type[M]) -> M:
        return parse_message(await read_limited(request, LIMITS.max_body_bytes), model, limits=LIMITS)

    def reply(model: DspModel, status: int = 200) -> Response:
        return JSONResponse(encode_message(model), status_code=status, media_type=DSP_JSON)

    def route(method: str, template: str, **kw: Any) -> Callable[[Any], Any]:
        """Register ``template`` with and without a trailing slash (DSP 2025-1 §common: tolerate both).

        Consumer callbacks live under ``CALLBACK_PREFIX`` (our ``callbackAddress`` is ``<base>/callback``): the
        provider's ``/transfers/{providerPid}/start`` and the callback ``/transfers/{consumerPid}/start`` have the
        same shape, and one connector plays both roles.
        """

        def decorate(fn: Any) -> Any:
            r.add_api_route(template, fn, methods=[method], **kw)
            r.add_api_route(template + "/", fn, methods=[method], include_in_schema=False)
            return fn

        return decorate

    # -- catalog ----------------------------------------------------------------------------------------------

    @route("POST", paths.CATALOG_REQUEST, summary="CatalogRequestMessage -> Catalog (Link-header pagination)")
    async def catalog_request(request: Request) -> Response:
        async def work() -> Response:
            caller = await authenticate(request, with_claims=True)
            message = await body_of(request, CatalogRequestMessage)
            check_filter(message.filter)
            page = page_from_query(dict(request.query_params))
            catalog, total = await get_services().catalog.catalog(caller, offset=page.offset, limit=page.limit)
            response = reply(catalog)
            link = link_header(str(request.url), page, total)
            if link:
                response.headers["Link"] = link
            return response

        return await handle(request, _catalog_error, work)

    @route("GET", paths.CATALOG_DATASET, summary="Dataset by id")
    async def dataset(request: Request, id: str) -> Response:
        async def work() -> Response:
            caller = await authenticate(request, with_claims=True)
            return reply(await get_services().catalog.dataset(caller, id))

        return await handle(request, _catalog_error, work)

    # -- negotiation: provider --------------------------------------------------------------------------------

    @route("POST", paths.NEGOTIATION_INITIAL_REQUEST, status_code=201, summary="Initial ContractRequestMessage")
    async def negotiation_request(request: Request) -> Response:
        async def work() -> Response:
            caller = await authenticate(request, with_claims=True)
            message = await body_of(request, ContractRequestMessage)
            if not message.initial:
                raise DspError("an initial request carries callbackAddress, not providerPid", code="schema-violation")
            result, status = await get_services().negotiations.on_initial_request(caller, message)
            return reply(result, status)

        return await handle(request, _negotiation_error, work)

    @route("GET", paths.NEGOTIATION, summary="ContractNegotiation state (provider)")
    async def negotiation_state(request: Request, providerPid: str) -> Response:  # noqa: N803 - spec name
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            return reply(await get_services().negotiations.get(caller, Role.PROVIDER, providerPid))

        return await handle(request, _negotiation_error, work, provider_pid=providerPid)

    @route("POST", paths.NEGOTIATION_REQUEST, summary="Counter ContractRequestMessage")
    async def negotiation_counter(request: Request, providerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=True)
            message = await body_of(request, ContractRequestMessage)
            return reply(await get_services().negotiations.on_counter_request(caller, providerPid, message))

        return await handle(request, _negotiation_error, work, provider_pid=providerPid)

    @route("POST", paths.NEGOTIATION_EVENTS, summary="ContractNegotiationEventMessage ACCEPTED")
    async def negotiation_event(request: Request, providerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractNegotiationEventMessage)
            return reply(await get_services().negotiations.on_accepted(caller, providerPid, message))

        return await handle(request, _negotiation_error, work, provider_pid=providerPid)

    @route("POST", paths.NEGOTIATION_VERIFICATION, summary="ContractAgreementVerificationMessage")
    async def negotiation_verification(request: Request, providerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractAgreementVerificationMessage)
            return reply(await get_services().negotiations.on_verification(caller, providerPid, message))

        return await handle(request, _negotiation_error, work, provider_pid=providerPid)

    @route("POST", paths.NEGOTIATION_TERMINATION, summary="ContractNegotiationTerminationMessage (to provider)")
    async def negotiation_termination(request: Request, providerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractNegotiationTerminationMessage)
            return reply(await get_services().negotiations.on_termination(caller, Role.PROVIDER, providerPid, message))

        return await handle(request, _negotiation_error, work, provider_pid=providerPid)

    # -- negotiation: consumer callbacks ------------------------------------------------------------------------

    @route("POST", paths.NEGOTIATION_INITIAL_OFFER, status_code=201, summary="Initial ContractOfferMessage")
    async def negotiation_initial_offer(request: Request) -> Response:
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractOfferMessage)
            if not message.initial:
                raise DspError("an initial offer carries callbackAddress, not consumerPid", code="schema-violation")
            result, status = await get_services().negotiations.on_initial_offer(caller, message)
            return reply(result, status)

        return await handle(request, _negotiation_error, work)

    @route(
        "GET",
        CALLBACK_PREFIX + paths.CALLBACK_NEGOTIATION,
        summary="ContractNegotiation state (consumer)",
        include_in_schema=False,
    )
    async def negotiation_state_consumer(request: Request, consumerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            return reply(await get_services().negotiations.get(caller, Role.CONSUMER, consumerPid))

        return await handle(request, _negotiation_error, work, consumer_pid=consumerPid)

    @route(
        "POST",
        CALLBACK_PREFIX + paths.CALLBACK_NEGOTIATION_OFFERS,
        summary="Counter ContractOfferMessage (to consumer)",
    )
    async def negotiation_offer(request: Request, consumerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractOfferMessage)
            return reply(await get_services().negotiations.on_offer(caller, consumerPid, message))

        return await handle(request, _negotiation_error, work, consumer_pid=consumerPid)

    @route(
        "POST", CALLBACK_PREFIX + paths.CALLBACK_NEGOTIATION_AGREEMENT, summary="ContractAgreementMessage (to consumer)"
    )
    async def negotiation_agreement(request: Request, consumerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractAgreementMessage)
            return reply(await get_services().negotiations.on_agreement(caller, consumerPid, message))

        return await handle(request, _negotiation_error, work, consumer_pid=consumerPid)

    @route(
        "POST", CALLBACK_PREFIX + paths.CALLBACK_NEGOTIATION_EVENTS, summary="ContractNegotiationEventMessage FINALIZED"
    )
    async def negotiation_finalized(request: Request, consumerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractNegotiationEventMessage)
            return reply(await get_services().negotiations.on_finalized(caller, consumerPid, message))

        return await handle(request, _negotiation_error, work, consumer_pid=consumerPid)

    @route(
        "POST",
        CALLBACK_PREFIX + paths.CALLBACK_NEGOTIATION_TERMINATION,
        summary="ContractNegotiationTerminationMessage (to consumer)",
    )
    async def negotiation_termination_consumer(request: Request, consumerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            message = await body_of(request, ContractNegotiationTerminationMessage)
            return reply(await get_services().negotiations.on_termination(caller, Role.CONSUMER, consumerPid, message))

        return await handle(request, _negotiation_error, work, consumer_pid=consumerPid)

    # -- transfer: provider -------------------------------------------------------------------------------------

    @route("POST", paths.TRANSFER_REQUEST, status_code=201, summary="TransferRequestMessage")
    async def transfer_request(request: Request) -> Response:
        async def work() -> Response:
            caller = await authenticate(request, with_claims=True)
            message = await body_of(request, TransferRequestMessage)
            result, status = await get_services().transfers.on_request(caller, message)
            return reply(result, status)

        return await handle(request, _transfer_error, work)

    @route("GET", paths.TRANSFER, summary="TransferProcess state")
    async def transfer_state(request: Request, providerPid: str) -> Response:  # noqa: N803
        async def work() -> Response:
            caller = await authenticate(request, with_claims=False)
            return reply(await get_services().transfers.get(caller, Role.PROVIDER, providerPid))

        return await handle(request, _transfer_error, work, provider_pid=providerPid)

    transfer_messages: dict[str, type[DspModel]] = {
        "start": TransferStartMessage,
        "completion": TransferCompletionMessage,
        "termination": TransferTerminationMessage,
        "suspension": TransferSuspensionMessage,
    }

    def transfer_route(role: Role, template: str, name: str) -> None:
        model = transfer_messages[name]
        pid_name = "providerPid" if role is Role.PROVIDER else "consumerPid"

        async def endpoint(request: Request) -> Response:
            pid = request.path_params[pid_name]

            async def work() -> Response:
                caller = await authenticate(request, with_claims=False)
                message = await body_of(request, model)
                result = await get_services().transfers.on_message(caller, role, pid, message)  # type: ignore[arg-type]
                return reply(result)

            kw = {"provider_pid": pid} if role is Role.PROVIDER else {"consumer_pid": pid}
            return await handle(request, _transfer_error, work, **kw)

        side = "provider" if role is Role.PROVIDER else "consumer callback"
        endpoint.__name__ = f"transfer_{name}_{role.value}"
        route("POST", template, summary=f"{model.__name__} ({side})")(endpoint)

    transfer_route(Role.PROVIDER, paths.TRANSFER_START, "start")
    transfer_route(Role.PROVIDER, paths.TRANSFER_COMPLETION, "completion")
    transfer_route(Role.PROVIDER, paths.TRANSFER_TERMINATION, "termination")
    transfer_route(Role.PROVIDER, paths.TRANSFER_SUSPENSION, "suspension")
    transfer_route(Role.CONSUMER, CALLBACK_PREFIX + paths.CALLBACK_TRANSFER_START, "start")
    transfer_route(Role.CONSUMER, CALLBACK_PREFIX + paths.CALLBACK_TRANSFER_COMPLETION, "completion")
    transfer_route(Role.CONSUMER, CALLBACK_PREFIX + paths.CALLBACK_TRANSFER_TERMINATION, "termination")
    transfer_route(Role.CONSUMER, CALLBACK_PREFIX + paths.CALLBACK_TRANSFER_SUSPENSION, "suspension")

    return r
