"""``create_app(settings)``: the connector's ASGI application, built from settings with no global state."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from connector import __version__
from connector.api import errors, health, well_known
from connector.identity.participant import ParticipantIdentity, load_identity
from connector.settings import ConnectorSettings

DESCRIPTION = """\
Gaia-X data-space connector.

* **Discovery**: the participant's did:web DID document, its x5u certificate chain and the DSP version metadata.
* **Operations**: health.
"""


def create_app(
    settings: ConnectorSettings,
    *,
    identity: ParticipantIdentity | None = None,
    now: dt.datetime | None = None,
) -> FastAPI:
    """Build the app. Identity problems raise ``ConfigurationError`` here, before any socket is opened."""
    if identity is None:
        identity = load_identity(settings, now=now or dt.datetime.now(dt.UTC))
    app = FastAPI(
        title="gxc connector",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.identity = identity
    errors.install(app)
    app.include_router(well_known.router(identity))
    app.include_router(health.router(identity))
    return app
