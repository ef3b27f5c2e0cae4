"""Secrets (issue 9 §6): private keys are stored 0600, never logged and never returned by any API.

A full negotiation, transfer and pull between two connectors runs with DEBUG logging on every logger; then the
log text and the answer of every GET endpoint of the management API, the well-known documents, the OpenAPI
document and the DSP catalog are scanned for the private key (PEM body, JWK ``d``) and the management API key.
"""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from connector.identity.participant import load_identity
from connector.identity.tokens import issue_token
from tests.integration.connector.harness import Running, dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, agree, bearer, contract, endpoint, offer, running, start

pytestmark = pytest.mark.integration


def secrets_of(conn: Running) -> dict[str, str]:
    identity = conn.app.state.identity
    pem = identity.key.private_pem().decode()
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    found = {"private key PEM (first 40)": body[:40], "private key PEM (last 40)": body[-40:]}
    private = identity.key.private_key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        d = private.private_numbers().private_value.to_bytes((private.curve.key_size + 7) // 8, "big")
        found["JWK d"] = base64.urlsafe_b64encode(d).rstrip(b"=").decode()
    key = conn.settings.management_api_key
    assert key is not None
    found["management API key"] = key.get_secret_value()
    return found


def test_private_keys_are_written_owner_only(tmp_path: Path) -> None:
    state = make_participant(tmp_path, "p", dataspace_pki())
    keys = list((state / "keys").glob("*.key.pem")) + list(state.rglob("*.key"))
    assert keys, list(state.rglob("*"))
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    config = state / "gxc.toml"  # it holds the management API key
    assert stat.S_IMODE(config.stat().st_mode) & 0o077 == 0, oct(config.stat().st_mode)


async def test_no_secret_in_logs_or_api_answers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pki, clock = dataspace_pki(), Clock()
    source = tmp_path / "d.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    provider_dir, consumer_dir = (
        make_participant(tmp_path, "provider", pki),
        make_participant(tmp_path, "consumer", pki),
    )
    answers: list[str] = []
    async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
        await offer(provider, "d", contract("urn:policy:d"), {"kind": "file", "path": str(source)})
        transfer = await start(consumer, await agree(consumer, provider, "d"))
        url, props = endpoint(transfer)
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(url, headers=bearer(props))).status_code == 200
            for conn in (provider, consumer):
                for path in (
                    "/assets", "/policies", "/contract-definitions", "/negotiations", "/agreements", "/transfers",
                    "/ledger", "/ledger/verify", "/obligations", "/credentials", "/self-description",
                ):  # fmt: skip
                    r = await conn.api.get(path)
                    assert r.status_code < 500, (path, r.text)
                    answers.append(r.text)
                for path in ("/.well-known/did.json", "/.well-known/dspace-version", "/openapi.json", "/health"):
                    answers.append((await http.get(conn.base + path)).text)
                identity = conn.app.state.identity
                token = issue_token(identity, identity.did, now=clock())
                r = await http.post(
                    conn.base + "/dsp/2025-1/catalog/request",
                    headers={"Authorization": token},
                    json={
                        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                        "@type": "CatalogRequestMessage",
                    },
                )
                answers.append(r.text)
        secrets = {f"{conn.name} {k}": v for conn in (provider, consumer) for k, v in secrets_of(conn).items()}
    logs = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {json.dumps(r.args, default=str)}" for r in caplog.records)
    assert len(caplog.records) > 20  # the scan saw a real run
    for name, secret in secrets.items():
        assert secret not in logs, f"{name} appears in the logs"
        for text in answers:
            assert secret not in text, f"{name} appears in an API answer"
    # sanity: the scan would have found the key had it been there
    assert load_identity(provider.settings, now=clock()).key.private_pem()
