"""Two real connectors on 127.0.0.1 negotiate and start transfers over DSP 2025-1 with DCP identity."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.integration.connector.harness import Running, dataspace_pki, make_participant, running, running_issuer

pytestmark = pytest.mark.integration

OPEN = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:open",
    "permission": [{"action": "use"}],
}
MEMBERS = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:members",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "https://w3id.org/gaia-x/connector/policy/membership",
                    "operator": "isAnyOf",
                    "rightOperand": "urn:dataspace:test",
                }
            ],
        }
    ],
}


async def offer(provider: Running, tmp: Path, asset_id: str, contract: dict[str, Any]) -> str:
    data = tmp / f"{asset_id}.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    r = await provider.post(
        "/assets", {"id": asset_id, "title": asset_id, "dataAddress": {"kind": "file", "path": str(data)}}
    )
    assert r.status_code == 201, r.text
    for pid, policy in ((f"{asset_id}-access", OPEN), (f"{asset_id}-contract", contract)):
        r = await provider.post("/policies", {"id": pid, "policy": policy})
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
    catalog = await provider.api.get("/contract-definitions")
    assert catalog.status_code == 200
    return asset_id


async def offer_id_of(consumer: Running, provider: Running, asset_id: str) -> str:
    r = await consumer.post("/catalog/request", {"counterPartyAddress": provider.base})
    assert r.status_code == 200, r.text
    datasets = r.json()["catalog"]["dataset"]
    (dataset,) = [d for d in datasets if d["@id"] == asset_id]
    return str(dataset["hasPolicy"][0]["@id"])


async def test_negotiation_and_pull_transfer_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="connector")  # log records are built (a bad `extra` key would raise)
    pki = dataspace_pki()
    async with running_issuer(tmp_path, pki) as federation:
        provider_dir = make_participant(tmp_path, "provider", pki, trusted_issuers=[federation.identity.did])
        consumer_dir = make_participant(tmp_path, "consumer", pki)
        member = consumer_dir / "credentials"
        member.mkdir()
        async with running(provider_dir) as provider, running(consumer_dir) as consumer:
            (member / "membership.jwt").write_text(
                federation.issue(consumer.did, "MembershipCredential", {"memberOf": "urn:dataspace:test"}),
                encoding="utf-8",
            )
            consumer.app.state.connector.runtime.wallet.add(
                __import__("connector.identity.wallet", fromlist=["HeldCredential"]).HeldCredential.from_token(
                    (member / "membership.jwt").read_text()
                )
            )
            await offer(provider, tmp_path, "weather", MEMBERS)
            offer_id = await offer_id_of(consumer, provider, "weather")
            r = await consumer.post(
                "/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20
            )
            assert r.status_code == 201, r.text
            negotiation = r.json()
            assert negotiation["state"] == "FINALIZED", negotiation["error"]
            agreement_id = negotiation["agreementId"]
            provider_view = (await provider.api.get("/agreements")).json()["items"]
            assert [a["id"] for a in provider_view] == [agreement_id]
            assert provider_view[0]["inForce"]
            assert (await consumer.api.get(f"/agreements/{agreement_id}")).json()["inForce"]
            assert (await provider.api.get("/agreements", params={"inForce": "false"})).json()["items"] == []

            r = await consumer.post("/transfers", {"agreementId": agreement_id}, wait=20)
            assert r.status_code == 201, r.text
            transfer = r.json()
            assert transfer["state"] == "STARTED", transfer
            props = {p["name"]: p["value"] for p in transfer["dataAddress"]["endpointProperties"]}
            assert props["authType"] == "bearer"
            assert transfer["dataAddress"]["endpoint"].startswith(provider.base + "/public/transfers/")


async def test_policy_denial_terminates_with_reason(tmp_path: Path) -> None:
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    consumer_dir = make_participant(tmp_path, "consumer", pki)
    async with running(provider_dir) as provider, running(consumer_dir) as consumer:
        await offer(provider, tmp_path, "weather", MEMBERS)
        offer_id = await offer_id_of(consumer, provider, "weather")
        r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20)
        negotiation = r.json()
        assert negotiation["state"] == "TERMINATED", negotiation
        assert negotiation["error"]["code"] == "policy-denied"
        assert "membership" in negotiation["error"]["reason"]


async def test_negotiations_reuse_the_peer_catalog_and_the_provider_still_judges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of negotiations costs one catalog request (PeerOffers); an offer the provider changed meanwhile is
    still refused by the provider, and an offer id the reused catalog lacks is looked up in a fresh one."""
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    consumer_dir = make_participant(tmp_path, "consumer", pki)
    async with running(provider_dir) as provider, running(consumer_dir) as consumer:
        provider_catalog = provider.app.state.connector.catalog
        served = 0
        original = provider_catalog.catalog

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal served
            served += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(provider_catalog, "catalog", counting)
        await offer(provider, tmp_path, "weather", OPEN)
        offer_id = await offer_id_of(consumer, provider, "weather")
        assert served == 1
        for _ in range(2):
            r = await consumer.post(
                "/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20
            )
            assert r.json()["state"] == "FINALIZED", r.text
        assert served == 1  # both found the offer in the catalog fetched above

        # The provider withdraws the offer and offers the dataset under another policy: the reused catalog still
        # has the old offer id, and the provider refuses it.
        assert (await provider.api.delete("/contract-definitions/cd-weather")).status_code == 204
        r = await provider.post("/policies", {"id": "weather-contract-2", "policy": {**OPEN, "uid": "urn:policy:2"}})
        assert r.status_code == 201, r.text
        definition = {
            "id": "cd-weather",
            "accessPolicyId": "weather-access",
            "contractPolicyId": "weather-contract-2",
            "assetIds": ["weather"],
        }
        assert (await provider.post("/contract-definitions", definition)).status_code == 201
        r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20)
        refused = r.json()
        assert refused["state"] == "TERMINATED", refused
        assert refused["error"]["code"] in ("outdated-offer", "unknown-offer"), refused["error"]
        assert served == 1

        # An offer id the reused catalog lacks is looked up in a fresh catalog (here: not offered at all).
        r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": "urn:uuid:nope"})
        assert r.status_code == 400, r.text
        assert "no offer" in r.text
        assert served == 2

        new_offer = await offer_id_of(consumer, provider, "weather")
        assert new_offer != offer_id
        r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": new_offer}, wait=20)
        assert r.json()["state"] == "FINALIZED", r.text
        assert served == 3
