"""The development trust anchor issues credentials with W3C Bitstring Status List entries, serves signed status
lists, and `gxc trust revoke | suspend | unsuspend` (and the operator endpoints) change them, across restarts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from catalog.devtrust.status import LIST_LENGTH
from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher
from connector.identity.status_lists import HttpStatusListFetcher
from connector.peer.egress import EgressPolicy
from self_descriptions.proofs.jose import b64url_decode
from self_descriptions.status_list import Bitstring, status_entries
from self_descriptions.verify import CredentialAssessment, VerificationError, verify_credential
from tests.fixtures.catalog.trust_anchor import RunningTrust, make_trust, running_trust

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MEMBER = "did:web:member.example"


def payload(token: str) -> dict[str, Any]:
    return dict(json.loads(b64url_decode(token.split(".")[1])))


async def verify(trust: RunningTrust, token: str) -> CredentialAssessment:
    """Verify as a connector does: did:web and x5u over HTTP, the status list fetched afresh (ttl 0)."""
    policy = EgressPolicy.from_strings(allow_private=False, networks=["127.0.0.1/32"])
    fetcher = GuardedFetcher(policy=policy, allowed_schemes=("http",))
    try:
        return await verify_credential(
            token,
            resolver=HttpDidResolver(fetcher, scheme="http"),
            trust_anchors=[trust.trust.pki.root],
            x5u_fetcher=HttpX5uFetcher(fetcher),
            status_lists=HttpStatusListFetcher(fetcher, ttl=0),
            now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1),
        )
    finally:
        await fetcher.aclose()


async def status_code_of(trust: RunningTrust, token: str) -> str:
    """``valid``, or the code the verification failed with (which must be the credential's status)."""
    try:
        return (await verify(trust, token)).status
    except VerificationError as exc:
        failed = exc
    assert failed.assessment is not None
    assert failed.code == failed.assessment.status, failed.message
    return failed.code


async def test_issue_suspend_unsuspend_revoke_and_restart(tmp_path: Path) -> None:
    state = make_trust(tmp_path)
    async with running_trust(state) as trust:
        issued = await trust.membership(MEMBER)
        token, credential_id = issued["credential"], issued["id"]
        entries = status_entries(payload(token))
        assert [e.purpose for e in entries] == ["revocation", "suspension"]
        federation = trust.trust.issuers["federation"].base_url
        assert [e.list_url for e in entries] == [f"{federation}/status/revocation", f"{federation}/status/suspension"]
        assert entries[0].index == entries[1].index
        assert 0 <= entries[0].index < LIST_LENGTH
        assert (await verify(trust, token)).status == "valid"

        # the list is served as a VC-JWT with caching aligned to its ttl, and re-signed only when a bit changes
        first = await trust.http.get("/federation/status/revocation")
        assert first.headers["content-type"].startswith("application/vc+jwt")
        assert first.headers["cache-control"] == "max-age=10"
        assert (await trust.http.get("/federation/status/revocation")).text == first.text
        assert (await trust.http.get("/federation/status/refresh")).status_code == 422

        suspended = trust.cli("suspend", credential_id, "--reason", "audit pending")
        assert suspended.exit_code == 0, suspended.output
        assert "suspended" in suspended.output
        assert await status_code_of(trust, token) == "suspended"
        assert (await trust.http.get("/federation/status/revocation")).text == first.text
        assert trust.cli("unsuspend", credential_id).exit_code == 0
        assert await status_code_of(trust, token) == "valid"

        revoked = trust.cli("revoke", credential_id, "--reason", "left the data space")
        assert revoked.exit_code == 0, revoked.output
        assert await status_code_of(trust, token) == "revoked"
        again = await trust.http.get("/federation/status/revocation")
        assert again.text != first.text
        bits = Bitstring.decode(payload(again.text)["credentialSubject"]["encodedList"])
        assert bits.get(entries[0].index) == 1
        final = trust.cli("unsuspend", credential_id)
        assert final.exit_code == 1
        assert "final" in final.output
        listed = json.loads(trust.cli("credentials", "--json").output)
        assert [(c["id"], c["status"], c["reason"]) for c in listed] == [
            (credential_id, "revoked", "left the data space")
        ]

        # the operator endpoints do the same (operator key required)
        other = await trust.membership(MEMBER)
        denied = await trust.http.post("/credentials/revoke", json={"id": other["id"]})
        assert denied.status_code == 401
        key = {"X-Api-Key": trust.trust.operator_key}
        unknown = await trust.http.post("/credentials/revoke", json={"id": "urn:uuid:nope"}, headers=key)
        assert unknown.status_code == 404
        assert unknown.json()["title"] == "unknown-credential"
        r = await trust.http.post("/credentials/suspend", json={"id": other["id"]}, headers=key)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "suspended"
        assert await status_code_of(trust, other["credential"]) == "suspended"
        listing = await trust.http.get("/credentials", params={"participant": MEMBER}, headers=key)
        assert {c["status"] for c in listing.json()["items"]} == {"revoked", "suspended"}

    # restart: the state folder keeps what was issued and revoked
    async with running_trust(state) as trust:
        assert await status_code_of(trust, token) == "revoked"
        assert await status_code_of(trust, other["credential"]) == "suspended"
        # by participant: the revoked one is skipped (revocation is final), the suspended one is lifted
        lifted = trust.cli("unsuspend", "--participant", MEMBER, "--type", "MembershipCredential")
        assert lifted.exit_code == 0, lifted.output
        assert "skipped" in lifted.output
        assert "final" in lifted.output
        assert (await verify(trust, other["credential"])).status == "valid"
        # every issuer role publishes its own lists; registration numbers carry entries into the notary's
        r = await trust.http.post(
            "/notary/registration-numbers",
            json={"participant": MEMBER, "baseUrl": "https://member.example", "value": "DE123456789"},
        )
        assert r.status_code == 201, r.text
        (revocation, _) = status_entries(payload(r.json()["credential"]))
        assert revocation.list_url == trust.trust.issuers["notary"].base_url + "/status/revocation"
        assert (await verify(trust, r.json()["credential"])).status == "valid"


def test_the_status_commands_explain_themselves(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from catalog.devtrust.cli import app

    runner = CliRunner()
    for command in ("revoke", "suspend", "unsuspend", "credentials"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "--state-dir" in result.output
    assert "final" in runner.invoke(app, ["revoke", "--help"]).output
    missing = runner.invoke(app, ["revoke", "urn:uuid:x", "--state-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1
    assert "gxc trust init" in missing.output
    state = make_trust(tmp_path)
    usage = runner.invoke(app, ["revoke", "--state-dir", str(state)])
    assert usage.exit_code == 2
    unknown = runner.invoke(app, ["revoke", "urn:uuid:x", "--state-dir", str(state)])
    assert unknown.exit_code == 1
    assert "gxc trust credentials" in unknown.output
