"""Management of what this connector offers: assets, policy definitions, contract definitions, policy templates."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connector.api.body import LimitedBodyRoute
from connector.api.management.idempotency import idempotent
from connector.api.management.problems import Problem, ProblemError
from connector.domain import Asset, ContractDefinition, FileDataAddress, HttpDataAddress, PolicyDefinition
from connector.services.assembly import Connector
from policies import PolicyError

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem},
    401: {"model": Problem},
    404: {"model": Problem},
    409: {"model": Problem},
}


class Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class DataAddressIn(Camel):
    """Where the asset's bytes live: an HTTP backend the data plane proxies, or a file on the provider's disk."""

    kind: Literal["http", "file"] = Field(examples=["http"])
    base_url: str | None = Field(None, alias="baseUrl", examples=["https://backend.example.com/weather"])
    path: str | None = Field(None, examples=["/srv/data/weather.csv"])
    proxy_path: bool = Field(False, alias="proxyPath")
    proxy_query: bool = Field(False, alias="proxyQuery")
    allowed_methods: list[str] = Field(default_factory=lambda: ["GET"], alias="allowedMethods")


class AssetIn(Camel):
    id: str | None = Field(None, examples=["weather-2026"], description="Default: a fresh urn:uuid")
    title: str = Field(examples=["Weather observations 2026"])
    description: str | None = Field(None, examples=["Hourly observations of 40 stations"])
    keywords: list[str] = Field(default_factory=list, examples=[["weather", "climate"]])
    content_type: str | None = Field(None, alias="contentType", examples=["text/csv"])
    data_address: DataAddressIn = Field(alias="dataAddress")
    properties: dict[str, Any] = Field(default_factory=dict)


class PolicyIn(Camel):
    id: str | None = Field(None, examples=["members-research"])
    policy: dict[str, Any] = Field(
        description="An ODRL 2.2 policy in JSON-LD (ODRL or DSP context, or expanded)",
        examples=[
            {
                "@context": "http://www.w3.org/ns/odrl.jsonld",
                "@type": "Set",
                "uid": "urn:policy:research",
                "permission": [
                    {
                        "action": "use",
                        "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}],
                    }
                ],
            }
        ],
    )


class ContractDefinitionIn(Camel):
    id: str | None = Field(None, examples=["weather-for-members"])
    access_policy_id: str = Field(alias="accessPolicyId", examples=["members-only"])
    contract_policy_id: str = Field(alias="contractPolicyId", examples=["members-research"])
    asset_ids: list[str] = Field(alias="assetIds", examples=[["weather-2026"]])


def asset_json(a: Asset) -> dict[str, Any]:
    address = a.data_address
    data: dict[str, Any] = (
        {
            "kind": "http",
            "baseUrl": address.base_url,
            "proxyPath": address.proxy_path,
            "proxyQuery": address.proxy_query,
            "allowedMethods": list(address.allowed_methods),
        }
        if isinstance(address, HttpDataAddress)
        else {"kind": "file", "path": address.path}
    )
    return {
        "id": a.id,
        "title": a.title,
        "description": a.description,
        "keywords": list(a.keywords),
        "contentType": a.content_type,
        "dataAddress": data,
        "properties": a.properties,
        "createdAt": a.created_at.isoformat(),
    }


def policy_json(p: PolicyDefinition) -> dict[str, Any]:
    return {"id": p.id, "policy": p.policy, "createdAt": p.created_at.isoformat()}


def definition_json(d: ContractDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "accessPolicyId": d.access_policy_id,
        "contractPolicyId": d.contract_policy_id,
        "assetIds": list(d.asset_ids),
        "createdAt": d.created_at.isoformat(),
    }


def page_json(items: list[dict[str, Any]], offset: int, next_offset: int | None) -> dict[str, Any]:
    return {"items": items, "offset": offset, "nextOffset": next_offset}


#: Offsets and sequence numbers reach SQL as 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT): a larger value
#: would be an OverflowError in the driver (a 500); bounded here it is a 422 with the reason.
MAX_SQL_INT = 2**62
Offset = Annotated[int, Query(ge=0, le=MAX_SQL_INT)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def router(get: Callable[[], Connector]) -> APIRouter:
    r = APIRouter(tags=["management: offering"], responses=ERRORS, route_class=LimitedBodyRoute)

    # -- assets ------------------------------------------------------------------------------------------------

    @r.post("/assets", status_code=201, summary="Register a dataset")
    async def create_asset(body: AssetIn, request: Request) -> JSONResponse:
        c = get()

        async def produce() -> tuple[int, Any]:
            address: HttpDataAddress | FileDataAddress
            if body.data_address.kind == "http":
                if not body.data_address.base_url:
                    raise ProblemError(400, "invalid-asset", "an http data address needs baseUrl")
                address = HttpDataAddress(
                    base_url=body.data_address.base_url,
                    proxy_path=body.data_address.proxy_path,
                    proxy_query=body.data_address.proxy_query,
                    allowed_methods=tuple(m.upper() for m in body.data_address.allowed_methods),
                )
            else:
                if not body.data_address.path:
                    raise ProblemError(400, "invalid-asset", "a file data address needs path")
                address = FileDataAddress(path=body.data_address.path)
            asset = Asset(
                id=body.id or f"urn:uuid:{uuid.uuid4()}",
                title=body.title,
                description=body.description,
                keywords=tuple(body.keywords),
                content_type=body.content_type,
                data_address=address,
                created_at=c.runtime.now(),
                properties=body.properties,
            )
            async with c.runtime.store.transaction() as tx:
                await tx.assets.add(asset)
            return 201, asset_json(asset)

        return await idempotent(request, c, body.model_dump(), produce)

    @r.get("/assets", summary="List datasets")
    async def list_assets(offset: Offset = 0, limit: Limit = 50) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.assets.list(offset=offset, limit=limit)
        return page_json([asset_json(a) for a in page.items], page.offset, page.next_offset)

    @r.get("/assets/{asset_id}", summary="One dataset")
    async def get_asset(asset_id: str) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            return asset_json(await tx.assets.get(asset_id))

    @r.delete("/assets/{asset_id}", status_code=204, summary="Remove a dataset")
    async def delete_asset(asset_id: str) -> None:
        async with get().runtime.store.transaction() as tx:
            await tx.assets.delete(asset_id)

    # -- policies ----------------------------------------------------------------------------------------------

    @r.post("/policies", status_code=201, summary="Store an ODRL policy (validated)")
    async def create_policy(body: PolicyIn, request: Request) -> JSONResponse:
        c = get()

        async def produce() -> tuple[int, Any]:
            try:
                c.runtime.policies.parse(body.policy)
            except PolicyError as exc:
                raise ProblemError(400, exc.code, f"invalid ODRL policy: {exc}") from exc
            definition = PolicyDefinition(
                id=body.id or f"urn:uuid:{uuid.uuid4()}", policy=body.policy, created_at=c.runtime.now()
            )
            async with c.runtime.store.transaction() as tx:
                await tx.policies.add(definition)
            return 201, policy_json(definition)

        return await idempotent(request, c, body.model_dump(), produce)

    @r.get("/policies", summary="List policies")
    async def list_policies(offset: Offset = 0, limit: Limit = 50) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.policies.list(offset=offset, limit=limit)
        return page_json([policy_json(p) for p in page.items], page.offset, page.next_offset)

    @r.get("/policies/{policy_id}", summary="One policy")
    async def get_policy(policy_id: str) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            return policy_json(await tx.policies.get(policy_id))

    @r.delete("/policies/{policy_id}", status_code=204, summary="Remove a policy (not while in use)")
    async def delete_policy(policy_id: str) -> None:
        async with get().runtime.store.transaction() as tx:
            await tx.policies.delete(policy_id)

    # -- contract definitions ----------------------------------------------------------------------------------

    @r.post("/contract-definitions", status_code=201, summary="Offer assets under policies")
    async def create_definition(body: ContractDefinitionIn, request: Request) -> JSONResponse:
        c = get()

        async def produce() -> tuple[int, Any]:
            definition = ContractDefinition(
                id=body.id or f"urn:uuid:{uuid.uuid4()}",
                access_policy_id=body.access_policy_id,
                contract_policy_id=body.contract_policy_id,
                asset_ids=tuple(body.asset_ids),
                created_at=c.runtime.now(),
            )
            async with c.runtime.store.transaction() as tx:
                for asset_id in definition.asset_ids:
                    await tx.assets.get(asset_id)
                await tx.contract_definitions.add(definition)
            return 201, definition_json(definition)

        return await idempotent(request, c, body.model_dump(), produce)

    @r.get("/contract-definitions", summary="List contract definitions")
    async def list_definitions(offset: Offset = 0, limit: Limit = 50) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            page = await tx.contract_definitions.list(offset=offset, limit=limit)
        return page_json([definition_json(d) for d in page.items], page.offset, page.next_offset)

    @r.get("/contract-definitions/{definition_id}", summary="One contract definition")
    async def get_definition(definition_id: str) -> dict[str, Any]:
        async with get().runtime.store.transaction() as tx:
            return definition_json(await tx.contract_definitions.get(definition_id))

    @r.delete("/contract-definitions/{definition_id}", status_code=204, summary="Withdraw an offer")
    async def delete_definition(definition_id: str) -> None:
        async with get().runtime.store.transaction() as tx:
            await tx.contract_definitions.delete(definition_id)

    return r
