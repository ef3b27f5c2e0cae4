"""A stand-in for the DSP TCK's counter-party server: builds messages exactly as the TCK v1.0.1 does
(``NegotiationFunctions``/``TransferFunctions``: root ``@id``, ``constraint: []``, reasons as objects), records and
schema-validates every message the connector under test sends it, and ACKs them (201 with a pid for requests)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connector.dsp import parse_any_message
from tests.integration.connector.harness import _serve, free_port

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
TCK_AUTHORIZATION = '"{\\"region\\": \\"any\\", \\"audience\\": \\"any\\", \\"clientId\\":\\"any\\"}"'


def base(kind: str, **fields: Any) -> dict[str, Any]:
    return {"@id": str(uuid.uuid4()), "@type": kind, "@context": CONTEXT, **fields}


def contract_request(
    consumer_pid: str, offer_id: str, target: str, callback: str | None, provider_pid: str | None = None
) -> dict[str, Any]:
    offer = {"@id": offer_id, "target": target, "@type": "Offer", "permission": [{"action": "use", "constraint": []}]}
    msg = base("ContractRequestMessage", consumerPid=consumer_pid, offer=offer)
    if provider_pid is not None:
        msg["providerPid"] = provider_pid
    if callback is not None:
        msg["callbackAddress"] = callback
    return msg


def counter_offer(provider_pid: str, consumer_pid: str, offer_id: str, assignee: str, target: str) -> dict[str, Any]:
    offer = {
        "@type": "Offer",
        "@id": offer_id,
        "permission": [{"action": "use", "constraint": []}],
        "target": target,
        "assignee": assignee,
        "assigner": "TCK_PARTICIPANT",
    }
    return base("ContractRequestMessage", providerPid=provider_pid, consumerPid=consumer_pid, offer=offer)


def offer_message(provider_pid: str, consumer_pid: str, offer_id: str, assignee: str, target: str) -> dict[str, Any]:
    msg = counter_offer(provider_pid, consumer_pid, offer_id, assignee, target)
    msg["@type"] = "ContractOfferMessage"
    return msg


def agreement_message(
    provider_pid: str, consumer_pid: str, assignee: str, target: str, callback: str
) -> dict[str, Any]:
    agreement = {
        "@type": "Agreement",
        "@id": str(uuid.uuid4()),
        "target": target,
        "permission": [{"action": "use", "constraint": []}],
        "timestamp": "2026-01-01T00:00:00Z",
        "assignee": assignee,
        "assigner": "TCK_PARTICIPANT",
    }
    return base(
        "ContractAgreementMessage",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        agreement=agreement,
        callbackAddress=callback,
    )


def event(provider_pid: str, consumer_pid: str, event_type: str) -> dict[str, Any]:
    return base(
        "ContractNegotiationEventMessage", providerPid=provider_pid, consumerPid=consumer_pid, eventType=event_type
    )


def pids_message(kind: str, provider_pid: str, consumer_pid: str, **extra: Any) -> dict[str, Any]:
    return base(kind, providerPid=provider_pid, consumerPid=consumer_pid, **extra)


def termination(kind: str, provider_pid: str, consumer_pid: str) -> dict[str, Any]:
    return pids_message(kind, provider_pid, consumer_pid, code="1", reason=[{"message": "TCK terminates"}])


@dataclass
class TckPeer:
    """The TCK's server: ``url`` is both its DSP base (provider role) and its callbackAddress (consumer role)."""

    url: str
    client: httpx.AsyncClient
    received: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)
    provider_pids: dict[str, str] = field(default_factory=dict)

    async def expect(self, kind: str) -> tuple[str, dict[str, Any]]:
        """The next message the connector sent us (within 15 s); it must be ``kind``."""
        async with asyncio.timeout(15):
            path, body = await self.received.get()
        assert body["@type"] == kind, (path, body)
        return path, body

    async def send(self, url: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(url, json=body, headers={"Authorization": TCK_AUTHORIZATION})

    async def get(self, url: str) -> httpx.Response:
        return await self.client.get(url, headers={"Authorization": TCK_AUTHORIZATION})


@contextlib.asynccontextmanager
async def running_tck() -> AsyncIterator[TckPeer]:
    port = free_port()
    app = FastAPI()
    async with httpx.AsyncClient(timeout=15) as client:
        peer = TckPeer(f"http://127.0.0.1:{port}", client)

        @app.post("/{path:path}")
        async def receive(path: str, request: Request) -> JSONResponse:
            raw = await request.body()
            parse_any_message(raw)  # schema-valid, as the TCK's MessageSerializer.validateMessage demands
            body = await request.json()
            await peer.received.put(("/" + path, body))
            if path.endswith("negotiations/request"):
                pid = f"urn:uuid:{uuid.uuid4()}"
                peer.provider_pids[body["consumerPid"]] = pid
                return JSONResponse(
                    base("ContractNegotiation", providerPid=pid, consumerPid=body["consumerPid"], state="REQUESTED"),
                    201,
                )
            if path.endswith("transfers/request"):
                pid = f"urn:uuid:{uuid.uuid4()}"
                peer.provider_pids[body["consumerPid"]] = pid
                return JSONResponse(
                    base("TransferProcess", providerPid=pid, consumerPid=body["consumerPid"], state="REQUESTED"), 201
                )
            return JSONResponse({}, 200)

        server, task = await _serve(app, port)
        try:
            yield peer
        finally:
            server.should_exit = True
            await task
