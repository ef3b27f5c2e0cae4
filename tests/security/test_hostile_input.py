"""Hostile input (issue 9 §3): generated requests against the management, DSP, data-plane and catalogue OpenAPI
documents; JSON-LD bombs, oversized and slow bodies. Everything is answered with a bounded, well-formed 4xx, and
refused input changes no state."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path

import httpx
import pytest

from connector.api import body as body_module
from connector.identity.tokens import issue_token
from tests.fixtures.catalog.harness import API_KEY, RunningCatalogue
from tests.integration.connector.harness import dataspace_pki, make_participant, running
from tests.security.hostile import Fuzzer, fuzz, report

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Endpoints whose answer is an endless stream (server-sent events) or whose body would make the connector call a
# URL from the request: fuzzed without credentials only (the 401/404 path), so no traffic leaves for made-up hosts.
OUTBOUND = ("/events", "/catalog/request", "POST /api/management/v1/negotiations", "POST /api/management/v1/transfers")


async def test_connector_openapi_fuzz(tmp_path: Path) -> None:
    pki = dataspace_pki()
    async with running(make_participant(tmp_path, "provider", pki)) as provider:
        identity = provider.app.state.identity
        key = provider.settings.management_api_key
        assert key is not None

        def credentials(label: str) -> dict[str, str]:
            if "/api/management/" in label:
                return {} if any(o in label for o in OUTBOUND) else {"X-Api-Key": key.get_secret_value()}
            if "/dsp/" in label:  # a valid DCP token (our own identity) so the parsers behind auth are reached
                return {"Authorization": issue_token(identity, identity.did, now=dt.datetime.now(dt.UTC))}
            return {}

        spec = provider.app.openapi()
        fuzzer = await fuzz(
            Fuzzer(spec, provider.base, headers=credentials, skip=lambda label: "/events" in label, examples=6)
        )
        assert fuzzer.calls > 200
        assert not fuzzer.findings, report(fuzzer.findings)


async def test_catalogue_openapi_fuzz(catalogue: RunningCatalogue) -> None:
    spec = (await catalogue.client.get("/openapi.json")).json()

    def credentials(label: str) -> dict[str, str]:
        return {"X-Api-Key": API_KEY}

    fuzzer = await fuzz(
        Fuzzer(spec, catalogue.url, headers=credentials, skip=lambda label: "crawl" in label or "sync" in label)
    )
    assert fuzzer.calls > 50
    assert not fuzzer.findings, report(fuzzer.findings)


CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]


def _request(**extra: object) -> dict[str, object]:
    return {
        "@context": CONTEXT,
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:hostile",
        "offer": {"@id": "cd:x:0", "@type": "Offer", "target": "x", "permission": [{"action": "use"}]},
        "callbackAddress": "http://127.0.0.1:9/cb",
        **extra,
    }


BOMBS: dict[str, bytes] = {
    "deep nesting": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "deep arrays": b"[" * 50_000 + b"]" * 50_000,
    "huge array": json.dumps(_request(extra=[0] * 200_000)).encode(),
    "many members": json.dumps(_request(**{f"k{i}": i for i in range(5_000)})).encode(),
    "context cycle": json.dumps(
        {**_request(), "@context": [*CONTEXT, {"a": "b:x", "b": "a:y", "c": {"@id": "c", "@context": {"c": "c:"}}}]}
    ).encode(),
    "remote context": json.dumps({**_request(), "@context": "http://169.254.169.254/ctx.jsonld"}).encode(),
    "scoped context recursion": json.dumps(
        {**_request(), "@context": [*CONTEXT, {"p": {"@id": "x:p", "@context": {"p": {"@id": "x:q", "@context": {}}}}}]}
    ).encode(),
    "oversized": b'{"@context": [], "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}',
    "not utf-8": b'{"@context": "\xff\xfe' + bytes([0xFF, 0xFE]) + b'"}',
}


async def test_jsonld_bombs_and_oversized_bodies_are_refused_without_state_change(tmp_path: Path) -> None:
    pki = dataspace_pki()
    async with running(make_participant(tmp_path, "provider", pki)) as provider:
        identity = provider.app.state.identity
        url = provider.base + "/dsp/2025-1/negotiations/request"
        async with httpx.AsyncClient(timeout=60) as http:
            for name, body in BOMBS.items():
                token = issue_token(identity, identity.did, now=dt.datetime.now(dt.UTC))
                r = await http.post(
                    url, content=body, headers={"Authorization": token, "Content-Type": "application/json"}
                )
                assert r.status_code == 400, (name, r.status_code, r.text[:300])
                error = r.json()
                assert error["@type"] == "ContractNegotiationError", name
                assert error["reason"], name
            # management API: an oversized JSON body is refused before parsing, with problem+json
            big = {"id": "big", "title": "x" * (5 * 1024 * 1024), "dataAddress": {"kind": "file", "path": "/x"}}
            r = await provider.api.post("/assets", json=big)
            assert r.status_code == 413, r.text[:300]
            assert r.json()["status"] == 413
            r = await provider.api.post(
                "/policies", content=b'{"id": "p", "policy": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_001
            )
            assert 400 <= r.status_code < 500, r.text[:300]
        # nothing was stored
        assert (await provider.api.get("/negotiations")).json()["items"] == []
        assert (await provider.api.get("/assets")).json()["items"] == []
        assert (await provider.api.get("/policies")).json()["items"] == []


async def test_slow_bodies_are_cut_and_do_not_block_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slowloris: many connections announce a body and trickle it (or stop sending). Other callers keep being
    served, and each stalled body is answered with a 4xx once it has been idle for the limit (shortened here)."""
    monkeypatch.setattr(body_module, "BODY_IDLE_SECONDS", 0.5)
    pki = dataspace_pki()
    async with running(make_participant(tmp_path, "provider", pki)) as provider:
        key = provider.settings.management_api_key
        assert key is not None
        host, port = "127.0.0.1", provider.settings.port
        targets = [
            ("/dsp/2025-1/catalog/request", {"Authorization": "x"}),
            ("/api/management/v1/assets", {"X-Api-Key": key.get_secret_value()}),
            ("/credentials/presentations/query", {}),
        ]
        slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        for i in range(30):
            path, headers = targets[i % len(targets)]
            reader, writer = await asyncio.open_connection(host, port)
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            writer.write(head.encode() + b'{"a": ')
            await writer.drain()
            slow.append((reader, writer))
        # others are served while the slow bodies hang
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(5):
                assert (await http.get(provider.base + "/.well-known/dspace-version")).status_code == 200
                assert (await provider.api.get("/assets")).status_code == 200
        # the stalled bodies get an answer (the management key one after auth; DSP/DCP ones 4xx), not a hang
        statuses = []
        for reader, writer in slow:
            line = await asyncio.wait_for(reader.readline(), timeout=60)
            statuses.append(int(line.split()[1]))
            writer.close()
        assert all(400 <= s < 500 for s in statuses), statuses
        assert (await provider.api.get("/assets")).json()["items"] == []


async def test_callers_that_hang_up_mid_body_are_no_application_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A peer that dies while sending its body (the crash tests kill them so) leaves nothing behind: no state, and
    no "Exception in ASGI application" traceback in the log, just an info line."""
    pki = dataspace_pki()
    async with running(make_participant(tmp_path, "provider", pki)) as provider:
        key = provider.settings.management_api_key
        assert key is not None
        host, port = "127.0.0.1", provider.settings.port
        identity = provider.app.state.identity

        def token() -> str:  # authenticated, so the body is read
            return issue_token(identity, identity.did, now=dt.datetime.now(dt.UTC))

        targets = [
            ("/dsp/2025-1/transfers/request", {"Authorization": token()}),
            ("/dsp/2025-1/negotiations/request", {"Authorization": token()}),
            ("/api/management/v1/assets", {"X-Api-Key": key.get_secret_value()}),
        ]
        caplog.set_level(logging.INFO)
        caplog.clear()
        for path, headers in targets:
            _, writer = await asyncio.open_connection(host, port)
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            writer.write(head.encode() + b'{"a": ')
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        for _ in range(400):  # the server notices each hang-up on its own schedule
            if sum("client disconnected" in r.getMessage() for r in caplog.records) == len(targets):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"not every hang-up was noticed: {caplog.text}")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        assert (await provider.api.get("/assets")).json()["items"] == []
