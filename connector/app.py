"""``create_app(settings)``: the connector's ASGI application, built from settings with no global state.

The identity is loaded (and checked) when the app is created, so configuration problems surface before a socket
is opened; the store, HTTP client, services and the outbox worker start in the lifespan and stop with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from connector import __version__
from connector.api import console as console_ui
from connector.api import dsp, errors, health, tck, well_known
from connector.api import management as management_api
from connector.api.credentials import router as credentials_router
from connector.api.dataplane import router as dataplane_router
from connector.api.management.problems import install as install_problems
from connector.identity.participant import ParticipantIdentity, load_identity
from connector.services.assembly import DSP_PATH, Connector, assemble, terms_text
from connector.services.runtime import Clock, system_clock
from connector.services.tck import StaticAuthorization, TckDirector, tck_behaviour
from connector.services.usage.control import UsageControl
from connector.settings import ConnectorSettings
from connector.worker.outbox_runner import OutboxRunner, RetryPolicy

DESCRIPTION = """\
Gaia-X data-space connector.

* **Dataspace Protocol 2025-1** (`/dsp/2025-1/...`): catalog, contract negotiation and transfer process, as provider
  and consumer; callers authenticate with DCP self-issued ID tokens.
* **Management API** (`/api/management/v1/...`, header `X-Api-Key`): datasets, policies, offers, negotiations,
  agreements, transfers and server-sent events, in plain JSON.
* **Credential Service** (`/credentials/presentations/query`, DCP 1.0) and **discovery**: the did:web DID document,
  its x5u certificate chain and the DSP version metadata.
"""


def create_app(
    settings: ConnectorSettings,
    *,
    identity: ParticipantIdentity | None = None,
    clock: Clock = system_clock,
    retry: RetryPolicy | None = None,
) -> FastAPI:
    """Build the app. Identity problems raise ``ConfigurationError`` here, before any socket is opened."""
    if identity is None:
        identity = load_identity(settings, now=clock())
    holder: dict[str, Connector] = {}
    holder_usage: dict[str, UsageControl] = {}
    holder_tck: dict[str, TckDirector] = {}
    static_caller = StaticAuthorization(settings.tck_authorization) if settings.tck else None

    def connector() -> Connector:
        try:
            return holder["connector"]
        except KeyError:
            raise RuntimeError("the connector is not started (lifespan not run)") from None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        c = await assemble(settings, identity, clock=clock)
        holder["connector"] = c
        app.state.connector = c
        usage = UsageControl(
            c.runtime,
            c.transfers,
            inbox_folder=settings.path(Path("inbox")),
            monitor_interval=settings.usage_monitor_seconds,
        )
        holder_usage["usage"] = app.state.usage = usage
        c.delivery.on_push_started = usage.push.started
        usage.start()
        runner = OutboxRunner(c.runtime, c.delivery, retry or RetryPolicy(lease_seconds=settings.outbox_lease_seconds))
        c.runtime.dispatcher = runner
        tasks = [asyncio.create_task(runner.run(), name="outbox")]
        if settings.tck:  # TCK mode (docs/tck.md): seeds + scripted reactions instead of automatic steps
            c.runtime.behaviour = tck_behaviour(c.runtime.behaviour)
            director = TckDirector(
                c.runtime, c.negotiations, c.transfers, reaction_delay=settings.tck_reaction_delay_ms / 1000
            )
            await director.seed()
            holder_tck["director"] = director
            tasks.append(asyncio.create_task(director.run(), name="tck"))
            await director.ready()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            c.runtime.dispatcher = None  # messages enqueued from now on are claimed by the next worker
            await runner.stop()
            await usage.aclose()
            await c.aclose()

    app = FastAPI(
        title="gxc connector",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.identity = identity
    errors.install(app)
    install_problems(app)
    app.include_router(well_known.router(identity, terms_text(settings)))
    app.include_router(health.router(identity))
    app.include_router(
        dsp.router(
            lambda: dsp.DspServices(
                connector().runtime,
                connector().catalog,
                connector().negotiations,
                connector().transfers,
                static_caller,
            )
        ),
        prefix=DSP_PATH,
    )
    app.include_router(credentials_router(lambda: connector().runtime))
    app.include_router(management_api.router(settings, connector))
    app.include_router(dataplane_router(lambda: holder_usage["usage"]))
    console_ui.mount(app, settings, connector)
    if settings.tck:
        app.include_router(tck.router(lambda: holder_tck["director"]))
    return app
