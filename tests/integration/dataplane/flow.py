"""Two real connectors on 127.0.0.1 with an injected clock: negotiate an agreement, start transfers, pull."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connector.app import create_app
from connector.settings import load_settings
from tests.integration.connector.harness import FAST_RETRY, Running, _serve

OPEN_ACCESS = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:open",
    "permission": [{"action": "use"}],
}


def contract(uid: str, *constraints: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "Set",
        "uid": uid,
        "permission": [{"action": "use", "constraint": list(constraints)}],
    }


def at_most(n: int) -> dict[str, Any]:
    return {"leftOperand": "count", "operator": "lt", "rightOperand": {"@value": str(n), "@type": "xsd:integer"}}


@dataclass
class Clock:
    """The runtime clock of both connectors: real time plus an offset the test moves forward."""

    offset: dt.timedelta = field(default_factory=dt.timedelta)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@contextlib.asynccontextmanager
async def running(state: Path, clock: Clock) -> AsyncIterator[Running]:
    settings = load_settings(state / "gxc.toml")
    app = create_app(settings, retry=FAST_RETRY, clock=clock)
    server, task = await _serve(app, settings.port)
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else ""
    async with httpx.AsyncClient(
        base_url=settings.base_url + "/api/management/v1", headers={"X-Api-Key": key}, timeout=60
    ) as api:
        try:
            yield Running(state.name, settings, app, settings.base_url, api)
        finally:
            server.should_exit = True
            await task


async def offer(provider: Running, asset_id: str, policy: dict[str, Any], data_address: dict[str, Any]) -> None:
    r = await provider.post("/assets", {"id": asset_id, "title": asset_id, "dataAddress": data_address})
    assert r.status_code == 201, r.text
    for pid, body in ((f"{asset_id}-access", OPEN_ACCESS), (f"{asset_id}-contract", policy)):
        r = await provider.post("/policies", {"id": pid, "policy": body})
        assert r.status_code in (201, 409), r.text
    r = await provider.post(
        "/contract-definitions",
        {
            "id": f"cd-{asset_id}",
            "accessPolicyId": f"{asset_id}-access",
            "contractPolicyId": f"{asset_id}-contract",
            "assetIds": [asset_id],
        },
    )
    assert r.status_code == 201, r.text


async def agree(consumer: Running, provider: Running, asset_id: str) -> str:
    r = await consumer.post("/catalog/request", {"counterPartyAddress": provider.base})
    assert r.status_code == 200, r.text
    (dataset,) = [d for d in r.json()["catalog"]["dataset"] if d["@id"] == asset_id]
    offer_id = dataset["hasPolicy"][0]["@id"]
    r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "FINALIZED", r.json()
    return str(r.json()["agreementId"])


async def start(consumer: Running, agreement_id: str, **body: Any) -> dict[str, Any]:
    r = await consumer.post("/transfers", {"agreementId": agreement_id, **body}, wait=20)
    assert r.status_code == 201, r.text
    return dict(r.json())


def endpoint(transfer: dict[str, Any]) -> tuple[str, dict[str, str]]:
    address = transfer["dataAddress"]
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    return address["endpoint"], props


def bearer(props: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {props['authorization']}"}
