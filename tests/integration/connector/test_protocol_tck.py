"""TCK mode, replayed: the DSP TCK v1.0.1 message sequences for a handful of seeds, against a connector started
in TCK mode (seeds, scripted reactions, static authorization, trigger endpoints), with a stand-in for the TCK that
builds its messages as the TCK does and validates every message it receives against the 2025-1 schemas."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.connector.harness import Running, dataspace_pki, make_participant, running
from tests.integration.connector.tck_peer import (
    TckPeer,
    agreement_message,
    contract_request,
    counter_offer,
    event,
    offer_message,
    pids_message,
    running_tck,
    termination,
)

pytestmark = pytest.mark.integration


def pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


@pytest.fixture
async def cut_and_tck(tmp_path: Path) -> AsyncIterator[tuple[Running, TckPeer]]:
    state = make_participant(
        tmp_path, "cut", dataspace_pki(), tck=True, tck_reaction_delay_ms=100, egress_allow_private=True
    )
    async with running(state) as cut, running_tck() as tck:
        yield cut, tck


def dsp(cut: Running) -> str:
    return cut.base + "/dsp/2025-1"


async def until_state(tck: TckPeer, url: str, state: str) -> None:
    seen = None
    for _ in range(150):
        r = await tck.get(url)
        seen = r.json().get("state")
        if seen == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} stayed {seen}, expected {state}")


async def request(cut: Running, tck: TckPeer, dataset: str) -> tuple[str, str]:
    consumer_pid = pid()
    r = await tck.send(
        dsp(cut) + "/negotiations/request", contract_request(consumer_pid, f"CD123:{dataset}:456", dataset, tck.url)
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "REQUESTED"
    return r.json()["providerPid"], consumer_pid


async def test_met_and_catalog_seeds(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    version = await tck.client.get(cut.base + "/.well-known/dspace-version")
    assert {"version": "2025-1", "binding": "HTTPS"}.items() <= version.json()["protocolVersions"][0].items()
    r = await tck.send(
        dsp(cut) + "/catalog/request",
        {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"},
    )
    assert r.status_code == 200, r.text
    ids = {d["@id"] for d in r.json()["dataset"]}
    assert {"CAT0101", "CAT0102", "ACN0101"} <= ids
    assert (await tck.get(dsp(cut) + "/catalog/datasets/CAT0102")).json()["@id"] == "CAT0102"
    unknown = await tck.get(dsp(cut) + "/catalog/datasets/CAT0103")
    assert unknown.json()["@type"] == "CatalogError"
    # Without the TCK's header (and without a DCP token) the caller is unknown: 404.
    assert (await tck.client.get(dsp(cut) + "/catalog/datasets/CAT0102")).status_code == 404


async def test_cn_01_03_offer_accept_agree_verify_finalize(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    provider_pid, consumer_pid = await request(cut, tck, "ACN0103")
    path, _ = await tck.expect("ContractOfferMessage")
    assert path == f"/negotiations/{consumer_pid}/offers"
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "OFFERED")
    r = await tck.send(f"{dsp(cut)}/negotiations/{provider_pid}/events", event(provider_pid, consumer_pid, "ACCEPTED"))
    assert r.status_code == 200, r.text
    _, agreement = await tck.expect("ContractAgreementMessage")
    assert agreement["agreement"]["assignee"] == "TCK_PARTICIPANT"
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "AGREED")
    r = await tck.send(
        f"{dsp(cut)}/negotiations/{provider_pid}/agreement/verification",
        pids_message("ContractAgreementVerificationMessage", provider_pid, consumer_pid),
    )
    assert r.status_code == 200, r.text
    _, finalized = await tck.expect("ContractNegotiationEventMessage")
    assert finalized["eventType"] == "FINALIZED"
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "FINALIZED")


async def test_cn_02_05_provider_terminates_after_offer(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    provider_pid, _ = await request(cut, tck, "ACN0205")
    await tck.expect("ContractOfferMessage")
    _, message = await tck.expect("ContractNegotiationTerminationMessage")
    assert message["providerPid"] == provider_pid
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "TERMINATED")


async def test_cn_03_04_second_counter_request_is_400(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    provider_pid, consumer_pid = await request(cut, tck, "ACN0304")
    await tck.expect("ContractOfferMessage")
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "OFFERED")
    url = f"{dsp(cut)}/negotiations/{provider_pid}/request"
    first = await tck.send(url, counter_offer(provider_pid, consumer_pid, "CD123:ACN0304:456", cut.did, "ACN0304"))
    assert first.status_code == 200, first.text
    second = await tck.send(url, counter_offer(provider_pid, consumer_pid, "CD123:ACN0304:456", cut.did, "ACN0304"))
    assert second.status_code == 400
    assert second.json()["@type"] == "ContractNegotiationError"


async def test_cn_03_01_termination_after_finalized_is_400(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    provider_pid, consumer_pid = await request(cut, tck, "ACN0301")
    await tck.expect("ContractAgreementMessage")
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "AGREED")
    await tck.send(
        f"{dsp(cut)}/negotiations/{provider_pid}/agreement/verification",
        pids_message("ContractAgreementVerificationMessage", provider_pid, consumer_pid),
    )
    await tck.expect("ContractNegotiationEventMessage")
    await until_state(tck, f"{dsp(cut)}/negotiations/{provider_pid}", "FINALIZED")
    r = await tck.send(
        f"{dsp(cut)}/negotiations/{provider_pid}/termination",
        termination("ContractNegotiationTerminationMessage", provider_pid, consumer_pid),
    )
    assert r.status_code == 400
    assert r.json()["@type"] == "ContractNegotiationError"


async def test_cn_c_01_01_consumer_accepts_verifies_and_is_finalized(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    trigger = {
        "datasetId": "ACNC0101",
        "offerId": "urn:uuid:offer-1",
        "providerId": "TCK_PARTICIPANT",
        "connectorAddress": tck.url,
    }
    r = await tck.client.post(cut.base + "/tck/negotiations/requests", json=trigger)
    assert r.status_code == 200, r.text
    path, message = await tck.expect("ContractRequestMessage")
    assert path == "/negotiations/request"
    consumer_pid = message["consumerPid"]
    provider_pid = tck.provider_pids[consumer_pid]
    callback = message["callbackAddress"]
    state_url = f"{callback}/negotiations/{consumer_pid}"
    await until_state(tck, state_url, "REQUESTED")
    await asyncio.sleep(0.1)  # the ACK carrying our providerPid is applied asynchronously
    r = await tck.send(
        f"{callback}/negotiations/{consumer_pid}/offers",
        offer_message(provider_pid, consumer_pid, "urn:uuid:offer-1", cut.did, "ACNC0101"),
    )
    assert r.status_code == 200, r.text
    _, accepted = await tck.expect("ContractNegotiationEventMessage")
    assert accepted["eventType"] == "ACCEPTED"
    await until_state(tck, state_url, "ACCEPTED")
    r = await tck.send(
        f"{callback}/negotiations/{consumer_pid}/agreement",
        agreement_message(provider_pid, consumer_pid, cut.did, "ACNC0101", tck.url),
    )
    assert r.status_code == 200, r.text
    await tck.expect("ContractAgreementVerificationMessage")
    await until_state(tck, state_url, "VERIFIED")
    r = await tck.send(f"{callback}/negotiations/{consumer_pid}/events", event(provider_pid, consumer_pid, "FINALIZED"))
    assert r.status_code == 200, r.text
    await until_state(tck, state_url, "FINALIZED")


async def test_tp_01_04_start_suspend_restart_complete(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    consumer_pid = pid()
    body = pids_message(
        "TransferRequestMessage",
        "",
        consumer_pid,
        agreementId="ATP0104",
        format="HttpData-PULL",
        callbackAddress=tck.url,
    )
    del body["providerPid"]
    r = await tck.send(dsp(cut) + "/transfers/request", body)
    assert r.status_code == 201, r.text
    provider_pid = r.json()["providerPid"]
    for kind in (
        "TransferStartMessage",
        "TransferSuspensionMessage",
        "TransferStartMessage",
        "TransferCompletionMessage",
    ):
        path, message = await tck.expect(kind)
        assert message["consumerPid"] == consumer_pid
    assert path == f"/transfers/{consumer_pid}/completion"
    await until_state(tck, f"{dsp(cut)}/transfers/{provider_pid}", "COMPLETED")


async def test_tp_03_01_completion_while_requested_is_400(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    consumer_pid = pid()
    body = pids_message(
        "TransferRequestMessage",
        "",
        consumer_pid,
        agreementId="ATP0301",
        format="HttpData-PULL",
        callbackAddress=tck.url,
    )
    del body["providerPid"]
    r = await tck.send(dsp(cut) + "/transfers/request", body)
    assert r.status_code == 201, r.text
    provider_pid = r.json()["providerPid"]
    r = await tck.send(
        f"{dsp(cut)}/transfers/{provider_pid}/completion",
        pids_message("TransferCompletionMessage", provider_pid, consumer_pid),
    )
    assert r.status_code == 400
    assert r.json()["@type"] == "TransferError"
    await until_state(tck, f"{dsp(cut)}/transfers/{provider_pid}", "REQUESTED")


async def test_tp_c_02_03_consumer_suspends_then_terminates(cut_and_tck: tuple[Running, TckPeer]) -> None:
    cut, tck = cut_and_tck
    trigger = {
        "agreementId": "ATPC0203",
        "format": "HttpData-PULL",
        "providerId": "TCK_PARTICIPANT",
        "connectorAddress": tck.url,
    }
    r = await tck.client.post(cut.base + "/tck/transfers/requests", json=trigger)
    assert r.status_code == 200, r.text
    path, message = await tck.expect("TransferRequestMessage")
    assert path == "/transfers/request"
    consumer_pid = message["consumerPid"]
    provider_pid = tck.provider_pids[consumer_pid]
    callback = message["callbackAddress"]
    await asyncio.sleep(0.2)  # the ACK carrying our providerPid is applied asynchronously
    address = {
        "@type": "DataAddress",
        "endpoint": "http://example.com",
        "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
    }
    r = await tck.send(
        f"{callback}/transfers/{consumer_pid}/start",
        pids_message("TransferStartMessage", provider_pid, consumer_pid, dataAddress=address),
    )
    assert r.status_code == 200, r.text
    path, _ = await tck.expect("TransferSuspensionMessage")
    assert path == f"/transfers/{provider_pid}/suspension"
    path, _ = await tck.expect("TransferTerminationMessage")
    assert path == f"/transfers/{provider_pid}/termination"
