"""Discover: search the federated catalogue(s) and read a peer connector's DSP catalog, offers in plain words.

Catalogue search is the catalogue's public ``GET /api/v1/datasets`` fetched by the connector (through the peer
client and its egress guard, so the browser never talks to third parties and the page works with a strict CSP).
A peer's catalog is what ``POST /api/management/v1/catalog/request`` returns: the offers *we* may see.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from connector.api.console.context import ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.session import Session
from connector.api.console.wording import describe
from connector.dsp.errors import DspError
from connector.errors import ConnectorError


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    def parse(document: Any) -> Any:
        return console.get().runtime.policies.parse(document)

    @r.get("/discover", include_in_schema=False)
    async def discover(
        request: Request, session: Annotated[Session, Depends(auth)], q: str = "", catalog: str = ""
    ) -> Response:
        c = console.get()
        catalogues = list(c.catalog_urls) or list(console.catalogues)
        chosen = catalog or (catalogues[0] if catalogues else "")
        results: list[dict[str, Any]] = []
        total = 0
        error = ""
        searched = "q" in request.query_params
        if searched and chosen:
            url = chosen.rstrip("/") + "/api/v1/datasets?" + urlencode({"q": q, "limit": 50})
            try:
                answer = await c.runtime.peers.send("GET", url, audience=None)
            except ConnectorError as exc:
                error = f"The catalogue at {chosen} cannot be reached: {exc.message}"
            else:
                if not answer.ok or not isinstance(answer.body, Mapping):
                    detail = answer.body.get("detail") if isinstance(answer.body, Mapping) else answer.text[:200]
                    error = f"The catalogue answered HTTP {answer.status}: {detail}"
                else:
                    total = int(answer.body.get("total", 0))
                    for item in answer.body.get("items", []):
                        if isinstance(item, Mapping):
                            results.append(_result(item, parse))
        elif searched:
            error = "Give the address of a federated catalogue to search."
        return console.page(
            request,
            "discover.html",
            session,
            q=q,
            catalog=chosen,
            catalogues=catalogues,
            results=results,
            total=total,
            searched=searched,
            error=error,
        )

    @r.get("/discover/peer", include_in_schema=False)
    async def peer(
        request: Request, session: Annotated[Session, Depends(auth)], address: str = "", did: str = ""
    ) -> Response:
        datasets: list[dict[str, Any]] = []
        error = ""
        participant = ""
        if address:
            try:
                found = await console.get().offers.fetch(address.strip(), did.strip() or None)
            except (ConnectorError, DspError) as exc:
                error = f"The connector at {address} did not give us its catalog: {_message(exc)}"
            else:
                participant = found.participant_id
                for dataset in found.datasets():
                    offers = [
                        {"id": str(o.get("@id", "")), "words": describe(o, parse), "policy": o}
                        for o in _as_list(dataset.get("hasPolicy"))
                        if isinstance(o, Mapping)
                    ]
                    datasets.append(
                        {
                            "id": str(dataset.get("@id", "")),
                            "title": dataset.get("title") or dataset.get("@id"),
                            "description": dataset.get("description") or "",
                            "keywords": [str(k) for k in _as_list(dataset.get("keyword"))],
                            "offers": offers,
                        }
                    )
        return console.page(
            request,
            "peer_catalog.html",
            session,
            address=address,
            did=did,
            participant=participant,
            datasets=datasets,
            error=error,
        )

    return r


def _message(exc: Exception) -> str:
    if isinstance(exc, DspError):
        return "; ".join(exc.reason)
    return exc.message if isinstance(exc, ConnectorError) else str(exc)


def _result(item: Mapping[str, Any], parse: Any) -> dict[str, Any]:
    policies = [p for p in _as_list(item.get("policies")) if isinstance(p, Mapping)]
    return {
        "title": item.get("title") or item.get("id"),
        "id": item.get("id"),
        "provider": item.get("providerName") or item.get("participant"),
        "participant": item.get("participant"),
        "description": item.get("description") or "",
        "keywords": _as_list(item.get("keywords")),
        "source": item.get("source"),
        "endpoint": item.get("endpoint"),
        "policies": [describe(p, parse) for p in policies],
    }
