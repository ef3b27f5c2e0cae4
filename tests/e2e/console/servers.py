"""The demo topology on 127.0.0.1 for the browser tests, served from a background thread with its own event loop
(Playwright's sync API cannot run inside the test's asyncio loop): a federation credential issuer, a provider and a
consumer connector, and a federated catalogue that has admitted one participant of the offline Gaia-X test world."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.fixtures.catalog.harness import API_KEY, MutableClock, free_port, make_state, running_catalogue, settings_for
from tests.fixtures.self_descriptions.world import world_for
from tests.integration.connector.harness import Running, dataspace_pki, make_participant, running

START_TIMEOUT = 120.0


@dataclass
class Demo:
    provider: str
    provider_key: str
    consumer: str
    consumer_key: str
    catalogue: str
    catalogue_key: str
    admitted_did: str
    data_file: Path


def _key(r: Running) -> str:
    assert r.settings.management_api_key is not None
    return r.settings.management_api_key.get_secret_value()


async def _serve(root: Path, ready: threading.Event, stop: asyncio.Event, out: list[Demo]) -> None:
    pki = dataspace_pki()
    world = world_for("ES256")
    # The scenario shows the access-time denial of the over-limit download; the provider's policy monitor would end
    # the transfer on its own once the single use is spent, racing the test's second click (a failure seen about
    # once in eight runs), so it does not run during the scenario (tests/integration/dataplane covers it).
    provider_dir = make_participant(
        root, "provider", pki, participant_name="Weather Data GmbH", usage_monitor_seconds=3600.0
    )
    consumer_dir = make_participant(root, "consumer", pki, participant_name="Research Lab AG")
    config = make_state(world, root / "catalogue", port=free_port(), name="Demo Federation")
    data = root / "weather.csv"
    data.write_text("station,hour,temperature\nBER,00,3.1\nBER,01,2.8\nHAM,00,4.0\n", encoding="utf-8")
    async with (
        running(provider_dir) as provider,
        running(consumer_dir) as consumer,
        running_catalogue(settings_for(config, world), world, MutableClock(world.now)) as catalogue,
    ):
        answer = await catalogue.client.post(
            "/api/v1/self-descriptions", content=world.vp_jwt(), headers={"Content-Type": "application/vp+jwt"}
        )
        assert answer.status_code == 201, answer.text
        out.append(
            Demo(
                provider=provider.base,
                provider_key=_key(provider),
                consumer=consumer.base,
                consumer_key=_key(consumer),
                catalogue=catalogue.url,
                catalogue_key=API_KEY,
                admitted_did=world.participant.did,
                data_file=data,
            )
        )
        ready.set()
        await stop.wait()


@contextlib.contextmanager
def demo_servers(root: Path) -> Iterator[Demo]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    out: list[Demo] = []
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(_serve(root, ready, stop, out))
        except BaseException as exc:  # reported to the test thread below
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="demo-servers", daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT) or failure:
            raise RuntimeError(f"the demo servers did not start: {failure[0] if failure else 'timeout'}")
        for url in (out[0].provider, out[0].consumer, out[0].catalogue):
            httpx.get(url + "/health", timeout=10).raise_for_status()
        yield out[0]
    finally:
        if not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(60)
