"""Crawling a member's DSP 2025-1 catalog over real HTTP with the catalogue's own DCP identity.

The member is a small DSP provider served with uvicorn from the ``connector.dsp`` builders (the connector's own DSP
endpoint is being built by the integrator): version metadata, ``POST /catalog/request`` answering a paged Catalog,
and real verification of the catalogue's self-issued ID token (did:web resolved over HTTP on loopback).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from catalog.api.runtime import MemoryJtiStore
from connector.dsp import DataService, encode_message
from connector.dsp.catalog_builder import DatasetEntry, build_catalog
from connector.errors import ConnectorError
from connector.identity.resolver import GuardedFetcher, HttpDidResolver
from connector.identity.tokens import verify_token
from tests.fixtures.catalog.harness import RunningCatalogue, free_port
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.integration

OFFER = {
    "@id": "urn:offer:1",
    "permission": [
        {
            "action": "use",
            "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "traffic-research"}],
        }
    ],
}


def provider_app(world: World, base: str, callers: list[str]) -> FastAPI:
    app = FastAPI()
    resolver = HttpDidResolver(GuardedFetcher(allow_private=True, allowed_schemes=("http",)), scheme="http")
    jti = MemoryJtiStore()
    service = DataService(id="urn:service:dsp", endpoint_url=base + "/dsp/2025-1")

    @app.get("/.well-known/dspace-version")
    async def version() -> dict[str, object]:
        return {"protocolVersions": [{"version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS"}]}

    @app.post("/dsp/2025-1/catalog/request")
    async def catalog(request: Request, authorization: str | None = Header(None)) -> JSONResponse:
        try:
            caller = await verify_token(
                authorization, audience=world.participant.did, resolver=resolver, jti_store=jti, now=world.now
            )
        except ConnectorError as exc:
            return JSONResponse({"@type": "CatalogError", "code": "401", "reason": [exc.message]}, status_code=401)
        callers.append(caller.did)
        page = int(request.query_params.get("offset", "0"))
        entries = [
            DatasetEntry(
                id=f"urn:dataset:traffic-{page + i}",
                offers=[{**OFFER, "@id": f"urn:offer:{page + i}"}],
                properties={"title": f"Traffic counts {page + i}", "keyword": ["traffic"]},
            )
            for i in range(2)
        ]
        body = encode_message(
            build_catalog(
                catalog_id="urn:catalog", participant_id=world.participant.did, service=service, datasets=entries
            )
        )
        headers = {"Link": f'<{base}/dsp/2025-1/catalog/request?offset=2>; rel="next"'} if page == 0 else {}
        return JSONResponse(body, headers=headers)

    return app


@asynccontextmanager
async def serve(app: FastAPI, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def test_crawl_indexes_dsp_datasets_and_records_failures(catalogue: RunningCatalogue, world: World) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    world.participant.document["service"] = [
        {
            "id": f"{world.participant.did}#dsp",
            "type": "DataService",
            "serviceEndpoint": base + "/.well-known/dspace-version",
        }
    ]
    catalogue.runtime.resolver.first = world.resolver()
    try:
        response = await catalogue.client.post(
            "/api/v1/self-descriptions", content=world.vp_jwt(), headers={"Content-Type": "application/vp+jwt"}
        )
        assert response.status_code == 201
        callers: list[str] = []
        async with serve(provider_app(world, base, callers), port):
            result = await catalogue.client.post("/api/v1/admin/crawl", headers=catalogue.headers)
        assert result.json()["results"][0]["ok"] is True, result.text
        assert result.json()["results"][0]["datasets"] == 4  # two pages followed through Link
        assert callers == [catalogue.did, catalogue.did]
        found = (await catalogue.client.get("/api/v1/datasets", params={"q": "traffic", "source": "dsp"})).json()
        assert found["total"] == 4
        assert found["facets"]["purpose"] == {"traffic-research": 4}
        # the provider is gone: the failure is recorded, the crawled datasets stay
        failed = (await catalogue.client.post("/api/v1/admin/crawl", headers=catalogue.headers)).json()["results"][0]
        assert failed["ok"] is False
        listing = (await catalogue.client.get("/api/v1/admin/participants", headers=catalogue.headers)).json()
        assert listing["items"][0]["crawl"]["failures"] == 1
        assert listing["items"][0]["crawl"]["error"]
        catalog = (await catalogue.client.get("/api/v1/catalog")).json()
        assert any(d["@id"].startswith("urn:dataset:") for d in catalog["catalog"][0]["dataset"])
    finally:
        del world.participant.document["service"]
