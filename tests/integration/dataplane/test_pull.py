"""HTTP pull through the public data plane of a real provider, with usage control on every access."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from connector.dataplane.streams import repr_digest
from tests.integration.connector.harness import dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, agree, at_most, bearer, contract, endpoint, offer, running, start

pytestmark = pytest.mark.integration


async def test_pull_file_with_ranges_digest_and_ledgers(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    payload = bytes(range(256)) * 8192 + b"tail"  # 2 MiB + 4: several chunks and a short last one
    source = tmp_path / "observations.bin"
    source.write_bytes(payload)
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
        await offer(provider, "obs", contract("urn:policy:obs"), {"kind": "file", "path": str(source)})
        agreement_id = await agree(consumer, provider, "obs")
        transfer = await start(consumer, agreement_id)
        assert transfer["state"] == "STARTED", transfer
        url, props = endpoint(transfer)
        assert props["refreshEndpoint"] == provider.base + "/public/token"
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.get(url, headers=bearer(props))
            assert r.status_code == 200, r.text
            assert hashlib.sha256(r.content).digest() == hashlib.sha256(payload).digest()
            assert r.headers["accept-ranges"] == "bytes"
            etag = r.headers["etag"]
            r = await http.get(url, headers={**bearer(props), "Range": "bytes=1048570-1048580"})
            assert r.status_code == 206
            assert r.content == payload[1048570:1048581]
            assert r.headers["content-range"] == f"bytes 1048570-1048580/{len(payload)}"
            r = await http.get(url, headers={**bearer(props), "Range": "bytes=-4", "If-Range": etag})
            assert (r.status_code, r.content) == (206, b"tail")
            r = await http.get(url, headers={**bearer(props), "Range": f"bytes={len(payload)}-"})
            assert r.status_code == 416
            assert r.headers["content-range"] == f"bytes */{len(payload)}"
            # the second full read is not re-hashed: the provider announces the digest it recorded (RFC 9530)
            r = await http.get(url, headers=bearer(props))
            assert "repr-digest" in r.headers

        # the consumer fetches through its stored data address (management API), declaring a purpose
        r = await consumer.api.get(f"/transfers/{transfer['id']}/data", params={"purpose": "research"})
        assert r.status_code == 200, r.text
        assert r.content == payload

        provider_ledger = (await provider.api.get("/ledger", params={"limit": 100})).json()["items"]
        decisions = [rec["data"]["decision"] for rec in provider_ledger if rec["kind"] == "access"]
        assert decisions == ["permit"] * 6
        completed = [rec for rec in provider_ledger if rec["kind"] == "use-completed"]
        assert completed[0]["data"]["bytes"] == len(payload)
        assert completed[0]["data"]["digest"] == "sha-256=" + hashlib.sha256(payload).hexdigest()
        assert {rec["counterparty"] for rec in provider_ledger} == {consumer.did}
        assert any(rec["kind"] == "use-aborted" for rec in provider_ledger)  # the 416 released its reservation
        receipts = [rec for rec in (await consumer.api.get("/ledger")).json()["items"] if rec["kind"] == "receipt"]
        assert receipts[-1]["data"]["digest"] == completed[0]["data"]["digest"]
        # the provider announced the digest it recorded (RFC 9530 Repr-Digest) and the receipt keeps it beside its own
        assert receipts[-1]["data"]["announcedDigest"] == repr_digest(hashlib.sha256(payload).hexdigest())
        assert receipts[-1]["data"]["purpose"] == "research"
        for side in (provider, consumer):
            verdict = (await side.api.get("/ledger/verify")).json()
            assert verdict["valid"] is True, verdict


async def test_at_most_n_uses_survives_a_restart(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "small.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    async with running(consumer_dir, clock) as consumer:
        async with running(provider_dir, clock) as provider:
            await offer(
                provider, "limited", contract("urn:policy:two", at_most(2)), {"kind": "file", "path": str(source)}
            )
            agreement_id = await agree(consumer, provider, "limited")
            transfer = await start(consumer, agreement_id)
            url, props = endpoint(transfer)
            async with httpx.AsyncClient(timeout=30) as http:
                assert (await http.get(url, headers=bearer(props))).status_code == 200
                assert (await http.get(url, headers=bearer(props))).status_code == 200
                denied = await http.get(url, headers=bearer(props))
            assert denied.status_code == 403
            assert denied.json()["code"] == "policy-denied"
            assert "count" in denied.json()["detail"]
        async with running(provider_dir, clock) as provider:  # a fresh process on the same database
            async with httpx.AsyncClient(timeout=30) as http:
                again = await http.get(url, headers=bearer(props))
            assert again.status_code == 403, again.text
            records = (await provider.api.get("/ledger")).json()["items"]
            assert [r["data"]["decision"] for r in records if r["kind"] == "access"] == [
                "permit",
                "permit",
                "deny",
                "deny",
            ]
            assert (await provider.api.get("/ledger/verify")).json()["valid"] is True
