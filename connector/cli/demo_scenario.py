"""The demo scenario (issue 8), one checked step at a time; run by ``gxc demo``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import httpx

from connector.cli.demo import DataSpace, Step, StepFailed, demo_templates, sha256


async def start_data_space(space: DataSpace) -> str:
    await space.start()
    return ", ".join(f"{name} :{c.port}" for name, c in space.components.items())


async def register_datasets(space: DataSpace) -> str:
    policies = demo_templates(dt.datetime.now(dt.UTC))
    backend = space.components["backend"].base
    air = space.root / "provider" / "data" / "air-quality.csv"
    async with space.api("provider") as api:
        for pid, policy in (
            ("members-only", policies["access"]),
            ("dataset-a-terms", policies["A"]),
            ("dataset-b-terms", policies["B"]),
        ):
            _expect(await api.post("/policies", json={"id": pid, "policy": policy}), 201, f"policy {pid}")
        assets = [
            {
                "id": "weather-observations",
                "title": "Weather observations 2026 (dataset A)",
                "description": "Hourly temperature and humidity of four stations",
                "keywords": ["weather", "climate"],
                "contentType": "text/csv",
                "dataAddress": {"kind": "http", "baseUrl": f"{backend}/observations.csv"},
            },
            {
                "id": "industrial-emissions",
                "title": "Industrial emissions (dataset B)",
                "description": "Emission readings; licensed industry partners only",
                "keywords": ["emissions"],
                "contentType": "text/csv",
                "dataAddress": {"kind": "file", "path": str(air)},
            },
            {
                "id": "air-quality",
                "title": "Air quality readings (push demo)",
                "description": "Particulate matter readings",
                "keywords": ["air", "climate"],
                "contentType": "text/csv",
                "dataAddress": {"kind": "file", "path": str(air)},
            },
        ]
        for asset in assets:
            _expect(await api.post("/assets", json=asset), 201, f"asset {asset['id']}")
        for cd, contract, asset_id in (
            ("offer-a", "dataset-a-terms", "weather-observations"),
            ("offer-b", "dataset-b-terms", "industrial-emissions"),
            ("offer-c", "members-only", "air-quality"),
        ):
            body = {"id": cd, "accessPolicyId": "members-only", "contractPolicyId": contract, "assetIds": [asset_id]}
            _expect(await api.post("/contract-definitions", json=body), 201, f"contract definition {cd}")
    return "A: members, purpose research, at most 3 uses, 1-day window; B: needs an IndustrialLicenceCredential"


async def membership(space: DataSpace) -> str:
    trust = space.components["trust"].base
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(
            f"{trust}/federation/memberships",
            json={"participant": space.dids["consumer"]},
            headers={"X-Api-Key": space.keys["trust"]},
        )
    _expect(answer, 201, "membership credential")
    async with space.api("consumer") as api:
        _expect(await api.post("/credentials", json={"credential": answer.json()["credential"]}), 201, "import")
    return f"MembershipCredential for {space.dids['consumer']} from {space.dids['federation']}"


async def publish_self_description(space: DataSpace) -> str:
    async with space.api("provider") as api:
        answer = _expect(await api.post("/self-description/publish"), 200, "publish")
    body = answer.json()
    verdict = body.get("compliance") or {}
    (catalog,) = body["catalogs"].values()
    status = catalog.get("status")
    if status != "admitted":
        failed = [c for c in catalog.get("checks", []) if not c.get("passed", True)]
        raise StepFailed(f"the catalogue did not admit the provider: {status}: {json.dumps(failed)[:500]}")
    checks = verdict.get("checks", [])
    return (
        f"{len(body['credentials'])} credentials; compliance service: {sum(1 for c in checks if c.get('passed'))}/"
        f"{len(checks)} checks passed; catalogue: admitted"
    )


async def discover(space: DataSpace) -> str:
    catalog = space.components["catalog"].base
    async with httpx.AsyncClient(timeout=30) as client:
        found = _expect(
            await client.get(f"{catalog}/api/v1/datasets", params={"provider": space.dids["provider"]}),
            200,
            "catalogue search",
        ).json()
    titles = sorted({str(item.get("title")) for item in found["items"]})
    if not any("dataset A" in t for t in titles) or not any("dataset B" in t for t in titles):
        raise StepFailed(f"the catalogue search did not find datasets A and B (found {titles})")
    async with space.api("consumer") as api:
        peer = _expect(
            await api.post("/catalog/request", json={"counterPartyAddress": space.components["provider"].base}),
            200,
            "DSP catalog request",
        ).json()
    datasets = {d["@id"]: d for d in peer["catalog"].get("dataset", [])}
    missing = {"weather-observations", "industrial-emissions", "air-quality"} - set(datasets)
    if missing:
        raise StepFailed(f"the provider's DSP catalog does not show {sorted(missing)} to the consumer")
    space.facts["offers"] = {k: v["hasPolicy"][0]["@id"] for k, v in datasets.items()}
    return f"catalogue: {found['total']} entries from the provider; DSP catalog: {', '.join(sorted(datasets))}"


async def negotiate(space: DataSpace) -> str:
    provider = space.components["provider"].base
    offers = space.facts["offers"]
    results: dict[str, dict[str, Any]] = {}
    async with space.api("consumer") as api:
        for key, dataset in (("A", "weather-observations"), ("B", "industrial-emissions"), ("C", "air-quality")):
            body = {"counterPartyAddress": provider, "offerId": offers[dataset]}
            results[key] = _expect(
                await api.post("/negotiations", json=body, params={"wait": 30}), 201, f"negotiation {key}"
            ).json()
    for key in ("A", "C"):
        if results[key]["state"] != "FINALIZED":
            raise StepFailed(f"negotiation {key} ended {results[key]['state']}: {results[key].get('error')}")
    if results["B"]["state"] != "TERMINATED":
        raise StepFailed(f"negotiation B should be refused but is {results['B']['state']}")
    space.facts["agreements"] = {k: results[k]["agreementId"] for k in ("A", "C")}
    reason = (results["B"].get("error") or {}).get("reason", "")
    return f"A and C FINALIZED; B TERMINATED: {reason}"


async def pull_a(space: DataSpace) -> str:
    expected = sha256((space.components["backend"].state_dir / "observations.csv").read_bytes())
    async with space.api("consumer") as api:
        transfer = _expect(
            await api.post("/transfers", json={"agreementId": space.facts["agreements"]["A"]}, params={"wait": 30}),
            201,
            "transfer A",
        ).json()
        if transfer["state"] != "STARTED":
            raise StepFailed(f"transfer A is {transfer['state']}: {transfer.get('error')}")
        space.facts["transfer_a"] = transfer["id"]
        data = await api.get(f"/transfers/{quote(transfer['id'], safe='')}/data", params={"purpose": "research"})
    _expect(data, 200, "pull A")
    if sha256(data.content) != expected:
        raise StepFailed("the pulled bytes do not match the provider's source (SHA-256 differs)")
    space.bytes_moved += len(data.content)
    return f"{len(data.content):,} bytes, SHA-256 {expected[:16]}… verified"


async def push_c(space: DataSpace) -> str:
    """A push transfer: the provider streams dataset C into the consumer's inbox and completes the transfer."""
    expected = sha256((space.root / "provider" / "data" / "air-quality.csv").read_bytes())
    async with space.api("consumer") as api:
        body = {"agreementId": space.facts["agreements"]["C"], "format": "HttpData-PUSH"}
        transfer = _expect(await api.post("/transfers", json=body, params={"wait": 30}), 201, "push transfer").json()
        transfer_id = quote(transfer["id"], safe="")
        for _ in range(100):
            if transfer["state"] in ("COMPLETED", "TERMINATED"):
                break
            await asyncio.sleep(0.1)
            transfer = _expect(await api.get(f"/transfers/{transfer_id}"), 200, "push state").json()
        if transfer["state"] != "COMPLETED":
            raise StepFailed(f"the push transfer is {transfer['state']}: {transfer.get('error')}")
        data = _expect(await api.get(f"/transfers/{transfer_id}/data"), 200, "pushed data")
    if sha256(data.content) != expected:
        raise StepFailed("the pushed bytes do not match the provider's file (SHA-256 differs)")
    space.bytes_moved += len(data.content)
    return f"{len(data.content):,} bytes pushed into the consumer's inbox, SHA-256 verified; transfer COMPLETED"


async def fourth_pull_denied(space: DataSpace) -> str:
    """Pulls 2 and 3 succeed; the 4th exceeds "at most 3 uses" and is refused with the reason.

    The provider's policy monitor re-checks running transfers every few seconds and ends one whose count is spent,
    so the 4th pull may instead find the transfer ended by the provider (refused by the provider as terminated, or by
    the consumer once the termination arrived): that is the same limit, enforced a moment earlier."""
    transfer = quote(space.facts["transfer_a"], safe="")
    async with space.api("consumer") as api:
        for number in (2, 3):
            data = _expect(
                await api.get(f"/transfers/{transfer}/data", params={"purpose": "research"}), 200, f"pull {number}"
            )
            space.bytes_moved += len(data.content)
        denied = await api.get(f"/transfers/{transfer}/data", params={"purpose": "research"})
        detail = str(denied.json().get("detail", "")) if denied.status_code in (400, 403) else denied.text[:300]
        if denied.status_code == 403 and "count" in detail:
            return f"pulls 2 and 3 served; pull 4 refused: {detail}"
        for _ in range(50):
            current = _expect(await api.get(f"/transfers/{transfer}"), 200, "transfer A").json()
            reason = str((current.get("error") or {}).get("reason", ""))
            if current["state"] == "TERMINATED":
                if "count" in reason:
                    return f"pulls 2 and 3 served; then the provider ended the transfer: {reason}"
                break
            await asyncio.sleep(0.2)
    raise StepFailed(f"the 4th pull should be denied for the use limit but got HTTP {denied.status_code}: {detail}")


async def ledgers_verify(space: DataSpace) -> str:
    parts = []
    for who in ("provider", "consumer"):
        async with space.api(who) as api:
            result = _expect(await api.get("/ledger/verify"), 200, f"{who} ledger").json()
        if not result.get("valid"):
            raise StepFailed(f"the {who}'s ledger does not verify: {result.get('error')}")
        parts.append(f"{who}: {result['records']} signed records, head {str(result['headDigest'])[:12]}…")
    return "; ".join(parts)


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        raise StepFailed(f"{what}: HTTP {response.status_code}: {str(detail)[:400]}")
    return response


STEPS: list[tuple[str, Step]] = [
    ("Start trust anchor, catalogue, provider, consumer, backend", start_data_space),
    ("Provider registers datasets with template policies", register_datasets),
    ("Federation issues the consumer's membership credential", membership),
    ("Provider's self-description: signed, certified, admitted", publish_self_description),
    ("Consumer discovers datasets (catalogue + DSP catalog)", discover),
    ("Negotiate A (FINALIZED) and B (TERMINATED with reason)", negotiate),
    ("Consumer pulls A, content digest verified", pull_a),
    ("Provider pushes C to the consumer's inbox", push_c),
    ("4th pull denied with the reason", fourth_pull_denied),
    ("Usage ledgers verify on both sides", ledgers_verify),
]
