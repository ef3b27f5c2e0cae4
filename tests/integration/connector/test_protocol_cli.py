"""The people's commands against two real connectors: offer, browse, negotiate, transfer, and failures in words."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from connector.cli.main import app
from tests.integration.connector.harness import dataspace_pki, make_participant, running

pytestmark = pytest.mark.integration

runner = CliRunner()


async def gxc(*args: str) -> Result:
    # The CLI is synchronous: run it off the event loop that serves both connectors.
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_offer_browse_negotiate_transfer_and_denial(tmp_path: Path) -> None:
    pki = dataspace_pki()
    provider_dir = make_participant(tmp_path, "provider", pki)
    consumer_dir = make_participant(tmp_path, "consumer", pki)
    data = tmp_path / "weather.csv"
    data.write_text("t,temp\n1,20\n", encoding="utf-8")
    p = ["--state-dir", str(provider_dir)]
    c = ["--state-dir", str(consumer_dir)]
    async with running(provider_dir) as provider, running(consumer_dir):
        r = await gxc("asset", "add", "weather", "--title", "Weather", "--file", str(data), "-k", "climate", *p)
        assert r.exit_code == 0, r.output
        r = await gxc("asset", "add", "secret", "--title", "Members only", "--http", "https://backend.example/x", *p)
        assert r.exit_code == 0, r.output
        r = await gxc("asset", "list", "--json", *p)
        assert {a["id"] for a in json.loads(r.stdout)} == {"weather", "secret"}
        assert (await gxc("offer", "add", "weather", "--policy", "open", *p)).exit_code == 0
        r = await gxc("offer", "add", "secret", "--policy", "membership_required=urn:dataspace:test", *p)
        assert r.exit_code == 0, r.output
        r = await gxc("offer", "list", *p)
        assert "offer-weather" in r.stdout

        r = await gxc("peer", "catalog", provider.base, "--json", *c)
        assert r.exit_code == 0, r.output
        datasets = {d["@id"]: d for d in json.loads(r.stdout)["catalog"]["dataset"]}
        open_offer = datasets["weather"]["hasPolicy"][0]["@id"]
        members_offer = datasets["secret"]["hasPolicy"][0]["@id"]
        r = await gxc("peer", "catalog", provider.base, *c)
        assert "weather" in r.stdout

        r = await gxc("negotiate", provider.base, open_offer, "--wait", *c)
        assert r.exit_code == 0, r.output
        assert "FINALIZED" in r.stdout
        r = await gxc("agreements", "--json", *c)
        (agreement,) = json.loads(r.stdout)
        assert agreement["assetId"] == "weather"
        assert agreement["inForce"]
        r = await gxc("agreements", "--not-final", "--json", *c)
        assert json.loads(r.stdout) == []

        r = await gxc("transfer", agreement["id"], "--wait", *c)
        assert r.exit_code == 0, r.output
        assert "STARTED" in r.stdout
        assert "Endpoint: " + provider.base + "/public/transfers/" in r.stdout

        r = await gxc("negotiate", provider.base, members_offer, "--wait", *c)
        assert r.exit_code == 1
        line = r.stderr.strip()
        assert line.startswith("error: negotiation urn:uuid:")
        assert "was terminated" in line
        assert "membership" in line
        assert "(policy-denied)" in line

        r = await gxc("negotiate", provider.base, "no-such-offer", *c)
        assert r.exit_code == 1
        assert "HTTP 4" in r.stderr

        r = await gxc("agreements", "--url", provider.base, "--api-key", "wrong")
        assert r.exit_code == 1
        assert r.stderr.startswith("error: HTTP 401")
