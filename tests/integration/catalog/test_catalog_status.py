"""The federated catalogue checks credential status (W3C Bitstring Status List v1.0 §3.2; catalogues must apply the
issuers' revocation lists, ``gaiax.md`` §9.3): admission refuses a revoked credential with the reason, a credential
revoked or suspended after admission takes the participant out at the next re-verification (and back in when a
suspension is lifted), and an unreachable status list is an outage, not a revocation.

Real servers on 127.0.0.1 and real signatures: the development trust anchor (notary, compliance service and their
status lists), a connector that builds, notarises and certifies its self-description there, and the catalogue. Only
the catalogue's clock is moved, past its status list cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from catalog.cli import app as catalog_cli
from self_descriptions.proofs.jose import b64url_decode
from tests.fixtures.catalog.harness import API_KEY, MutableClock, RunningCatalogue
from tests.fixtures.catalog.trust_anchor import RunningTrust, make_trust, running_trust
from tests.fixtures.self_descriptions.world import World, make_world
from tests.integration.connector.harness import make_participant, running

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CatalogueFactory = Callable[..., AbstractAsyncContextManager[RunningCatalogue]]

#: Past the catalogue's status list cache (status_list_cache_seconds, default 10 s).
PAST_CACHE = dt.timedelta(seconds=30)


@pytest.fixture
def world() -> World:
    """The trust anchor and the connector sign with the real clock, so the catalogue's clock starts there too."""
    return make_world("ES256", now=dt.datetime.now(dt.UTC).replace(microsecond=0))


@dataclass
class Member:
    """A participant's VP-JWT, certified by the trust anchor's notary and compliance service."""

    did: str
    presentation: str
    credentials: dict[str, str]  # trust anchor credential type -> credential id

    @property
    def quoted(self) -> str:
        return quote(self.did, safe="")


@dataclass
class Federation:
    trust: RunningTrust
    catalogue: RunningCatalogue
    member: Member

    def later(self, delta: dt.timedelta = PAST_CACHE) -> None:
        """Move the catalogue's clock past real time (lists re-signed just now are valid) and ``delta`` on."""
        clock: MutableClock = self.catalogue.clock
        clock.now = max(clock.now, dt.datetime.now(dt.UTC)) + delta

    async def submit(self) -> Any:
        self.later(dt.timedelta(seconds=1))
        return await self.catalogue.client.post(
            "/api/v1/self-descriptions",
            content=self.member.presentation,
            headers={"Content-Type": "application/vp+jwt"},
        )

    async def participant(self) -> dict[str, Any]:
        r = await self.catalogue.client.get(f"/api/v1/participants/{self.member.quoted}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def report(self) -> dict[str, Any]:
        r = await self.catalogue.client.get(
            f"/api/v1/admin/participants/{self.member.quoted}/report", headers=self.catalogue.headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def reverify(self) -> dict[str, int]:
        """``gxc catalog reverify`` as the operator runs it (in a thread: the catalogue serves in this loop)."""
        self.later()
        result = await asyncio.to_thread(
            CliRunner().invoke, catalog_cli, ["reverify", "--url", self.catalogue.url, "--api-key", API_KEY]
        )
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    async def listed(self) -> bool:
        """Discoverable: in the catalogue's DSP catalog of catalogs."""
        body = (await self.catalogue.client.get("/api/v1/catalog")).json()
        return self.member.did in [c["participantId"] for c in body.get("catalog", [])]

    async def feed(self) -> list[str]:
        r = await self.catalogue.client.get("/api/v1/federation/feed", params={"after": 0})
        assert r.status_code == 200, r.text
        items = json.loads(b64url_decode(r.text.strip().split(".")[1]))["items"]
        return [i["kind"] for i in items if i["participant"] == self.member.did]

    def status(self, action: str, kind: str, reason: str | None = None) -> None:
        """``gxc trust revoke | suspend | unsuspend`` of the member's credential of type ``kind``."""
        result = self.trust.cli(action, self.member.credentials[kind], *(["--reason", reason] if reason else []))
        assert result.exit_code == 0, result.output


@contextlib.asynccontextmanager
async def federation(tmp_path: Path, catalogue_factory: CatalogueFactory, **settings: Any) -> AsyncIterator[Federation]:
    async with running_trust(make_trust(tmp_path)) as trust:
        anchors = trust.trust
        async with catalogue_factory(
            trust_anchor_files=[trust.state / "pki" / "root-ca.pem"],
            trusted_notaries=[anchors.did("notary")],
            trusted_compliance_issuers=[anchors.did("compliance")],
            **settings,
        ) as catalogue:
            state = make_participant(
                tmp_path,
                "member",
                anchors.pki,
                participant_name="Member Data GmbH",
                vat_id="DE811569869",
                notary_url=f"{anchors.base_url}/notary",
                compliance_url=f"{anchors.base_url}/compliance",
            )
            async with running(state) as connector:
                published = await connector.api.post("/self-description/publish")
                assert published.status_code == 200, published.text
                listing = await trust.http.get(
                    "/credentials", params={"participant": connector.did}, headers={"X-Api-Key": anchors.operator_key}
                )
                issued = {c["type"]: c["id"] for c in listing.json()["items"]}
                assert set(issued) == {"gx:VatID", "gx:LabelCredential"}, issued
                member = Member(connector.did, published.json()["presentation"], issued)
                yield Federation(trust, catalogue, member)


def failed(body: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [c for c in body["checks"] if not c["passed"] and c["code"] == code]


async def test_admission_refuses_a_revoked_registration_number_with_the_reason(
    tmp_path: Path, catalogue_factory: CatalogueFactory
) -> None:
    async with federation(tmp_path, catalogue_factory) as fed:
        vat_id = fed.member.credentials["gx:VatID"]
        fed.status("revoke", "gx:VatID", "company dissolved")

        r = await fed.submit()
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "admission-rejected", body
        (check,) = failed(body, "revoked")
        assert check["name"] == "credential"
        assert check["credential"] is not None
        assert vat_id in check["message"]
        assert f"revoked by its issuer {fed.trust.trust.did('notary')}" in check["message"]
        assert "/notary/status/revocation" in check["message"]
        # everything else about the presentation is fine: the revocation alone refused it
        assert [c["code"] for c in body["checks"] if not c["passed"]] == ["revoked"]
        participant = await fed.participant()
        assert participant["status"] == "rejected"
        assert "revoked" in participant["reason"]
        assert not await fed.listed()
        assert await fed.feed() == []


async def test_a_credential_revoked_after_admission_takes_the_participant_out_at_reverification(
    tmp_path: Path, catalogue_factory: CatalogueFactory
) -> None:
    async with federation(tmp_path, catalogue_factory) as fed:
        r = await fed.submit()
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "admitted"
        statuses = {c["status"] for c in r.json()["report"]["credentials"]}
        assert statuses == {"valid"}, r.json()["report"]["credentials"]
        assert r.json()["report"]["trust"]["credentialStatus"] == "W3C Bitstring Status List v1.0"
        assert await fed.listed()
        assert await fed.reverify() == {"checked": 1, "compliant": 1, "failed": 0, "statusUnknown": 0}

        # a suspended compliance credential: out at the next re-verification, back when the suspension is lifted
        fed.status("suspend", "gx:LabelCredential", "audit pending")
        assert await fed.reverify() == {"checked": 1, "compliant": 0, "failed": 1, "statusUnknown": 0}
        participant = await fed.participant()
        assert participant["status"] == "rejected"
        assert "suspended" in participant["reason"]
        assert fed.member.credentials["gx:LabelCredential"] in participant["reason"]
        assert not await fed.listed()
        fed.status("unsuspend", "gx:LabelCredential")
        assert (await fed.reverify())["compliant"] == 1
        assert (await fed.participant())["status"] == "admitted"
        assert await fed.listed()

        # a revoked registration number: out for good, with the reason in its report, and peers are told
        fed.status("revoke", "gx:VatID", "company dissolved")
        assert (await fed.reverify())["failed"] == 1
        participant = await fed.participant()
        assert participant["status"] == "rejected"
        assert participant["reason"].startswith("re-verification (operator request) failed")
        assert "revoked by its issuer" in participant["reason"]
        assert not await fed.listed()
        report = await fed.report()
        (check,) = failed(report["report"], "revoked")
        assert fed.member.credentials["gx:VatID"] in check["message"]
        assert report["submission"]["compliant"] is False
        assert [v["compliant"] for v in report["verifications"]] == [True, True, False, True, False]
        assert await fed.feed() == ["admitted", "revoked", "admitted", "revoked"]
        assert (await fed.reverify())["failed"] == 1  # revocation is final
        assert (await fed.participant())["status"] == "rejected"


async def test_an_unreachable_status_list_keeps_the_participant_and_records_the_problem(
    tmp_path: Path, catalogue_factory: CatalogueFactory
) -> None:
    async with federation(tmp_path, catalogue_factory) as fed:
        assert (await fed.submit()).status_code == 201
        assert await fed.listed()
        before = (await fed.report())["report"]

        fed.trust.outage.down = True
        assert await fed.reverify() == {"checked": 1, "compliant": 0, "failed": 1, "statusUnknown": 1}
        participant = await fed.participant()
        assert participant["status"] == "admitted"
        assert participant["reason"].startswith("status unknown at re-verification (operator request)")
        assert "cannot retrieve the status list" in participant["reason"]
        assert await fed.listed()
        report = await fed.report()
        assert report["report"] == before  # the last verdict stands
        last = report["verifications"][-1]
        assert last["compliant"] is False
        assert "last verdict kept" in last["reason"]
        assert {f["code"] for f in last["failures"]} == {"status-retrieval-error"}
        assert any("503" in f["message"] for f in last["failures"])
        assert await fed.feed() == ["admitted"]

        # a new admission fails closed, saying why; the admitted version stays
        refused = await fed.submit()
        assert refused.status_code == 422, refused.text
        codes = {c["code"] for c in refused.json()["checks"] if not c["passed"]}
        assert codes == {"status-retrieval-error"}
        assert (await fed.participant())["status"] == "admitted"

        # the lists answer again: the doubt is cleared
        fed.trust.outage.down = False
        assert (await fed.reverify())["compliant"] == 1
        participant = await fed.participant()
        assert participant["status"] == "admitted"
        assert participant["reason"] is None
        assert await fed.feed() == ["admitted"]


async def test_the_scheduled_reverification_notices_a_revocation(
    tmp_path: Path, catalogue_factory: CatalogueFactory
) -> None:
    """Nobody runs ``gxc catalog reverify``: the catalogue's own schedule (reverify_interval_seconds) asks the
    status lists again."""
    async with federation(tmp_path, catalogue_factory, reverify_interval_seconds=1.0) as fed:
        assert (await fed.submit()).status_code == 201
        fed.status("revoke", "gx:LabelCredential", "label withdrawn")
        fed.later()  # past the status list cache; the schedule runs on its own
        for _ in range(300):
            participant = await fed.participant()
            if participant["status"] != "admitted":
                break
            await asyncio.sleep(0.1)
        assert participant["status"] == "rejected", participant
        assert participant["reason"].startswith("re-verification (scheduled) failed")
        assert "revoked by its issuer" in participant["reason"]
        assert not await fed.listed()
