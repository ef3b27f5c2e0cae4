"""Token misuse, revocation by state, refresh, and the policy monitor closing a time window (injected clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.connector.harness import Running, dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, agree, bearer, contract, endpoint, offer, running, start

pytestmark = pytest.mark.integration


async def wait_state(side: Running, transfer_id: str, state: str) -> dict[str, Any]:
    for _ in range(200):
        current = (await side.api.get(f"/transfers/{transfer_id}")).json()
        if current["state"] == state:
            return dict(current)
        await asyncio.sleep(0.05)
    raise AssertionError(f"transfer {transfer_id} never reached {state}: {current}")


async def test_token_misuse_is_rejected_and_refresh_works_while_started(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "d.csv"
    source.write_text("x\n", encoding="utf-8")
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
        await offer(provider, "d", contract("urn:policy:d"), {"kind": "file", "path": str(source)})
        agreement_id = await agree(consumer, provider, "d")
        first, second = await start(consumer, agreement_id), await start(consumer, agreement_id)
        url_a, props_a = endpoint(first)
        url_b, props_b = endpoint(second)
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(url_a)).status_code == 401  # no token
            other = await http.get(url_b, headers=bearer(props_a))  # A's token on B's endpoint
            assert other.status_code == 403
            assert other.json()["code"] == "token-mismatch"
            token = props_a["authorization"]
            tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
            assert (await http.get(url_a, headers={"Authorization": f"Bearer {tampered}"})).status_code == 401
            forged_claims = token.split(".")
            forged_claims[1] = forged_claims[1][::-1]
            assert (
                await http.get(url_a, headers={"Authorization": "Bearer " + ".".join(forged_claims)})
            ).status_code == 401

            clock.offset += dt.timedelta(minutes=11)  # past the token's ten minutes
            expired = await http.get(url_a, headers=bearer(props_a))
            assert expired.status_code == 401
            assert "expired" in expired.json()["detail"]
            refreshed = await http.post(props_a["refreshEndpoint"], headers=bearer(props_a))
            assert refreshed.status_code == 200, refreshed.text
            fresh = refreshed.json()["authorization"]
            assert (await http.get(url_a, headers={"Authorization": f"Bearer {fresh}"})).status_code == 200

            r = await consumer.post(f"/transfers/{first['id']}/terminate", {"reason": "done"})
            assert r.status_code == 200, r.text
            await wait_state(consumer, first["id"], "TERMINATED")
            revoked = await http.get(url_a, headers={"Authorization": f"Bearer {fresh}"})
            assert revoked.status_code == 403
            assert revoked.json()["code"] == "transfer-not-started"
            assert (await http.post(props_a["refreshEndpoint"], headers=bearer(props_a))).status_code == 403
            # the other transfer is untouched
            assert (await http.get(url_b, headers=bearer(props_b))).status_code == 401  # its token expired too
        records = (await provider.api.get("/ledger")).json()["items"]
        denials = [r["data"]["reason"] for r in records if r["kind"] == "access" and r["data"]["decision"] == "deny"]
        assert any("another transfer" in d for d in denials)
        assert any("revoked" in d for d in denials)


async def test_monitor_terminates_when_the_window_closes(tmp_path: Path) -> None:
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "w.csv"
    source.write_text("w\n", encoding="utf-8")
    end = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    window = {"leftOperand": "dateTime", "operator": "lt", "rightOperand": {"@value": end, "@type": "xsd:dateTime"}}
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
        await offer(provider, "w", contract("urn:policy:w", window), {"kind": "file", "path": str(source)})
        agreement_id = await agree(consumer, provider, "w")
        transfer = await start(consumer, agreement_id)
        r = await consumer.api.get(f"/transfers/{transfer['id']}/data")
        assert r.status_code == 200, r.text
        monitor = provider.app.state.usage.monitor
        assert await monitor.check() == []
        clock.offset += dt.timedelta(hours=2)
        (terminated,) = await monitor.check()
        ended = await wait_state(consumer, transfer["id"], "TERMINATED")
        assert ended["error"]["code"] == "policy-violated"
        assert "dateTime" in ended["error"]["reason"]
        mine = await wait_state(provider, terminated, "TERMINATED")
        assert mine["error"]["code"] == "policy-violated"
        records = (await provider.api.get("/ledger")).json()["items"]
        assert [r["data"]["action"] for r in records if r["kind"] == "monitor"] == ["terminate"]
