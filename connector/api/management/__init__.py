"""The management API: plain JSON for operators, versioned under ``/api/management/v1``, API key in ``X-Api-Key``.

JSON-LD only travels on the DSP wire; here everything is plain JSON described by OpenAPI with examples. Errors are
RFC 9457 problem+json with a stable ``type`` (``urn:gxc:error:<code>``). ``Idempotency-Key`` on a POST makes a
retried request return the first answer instead of doing the work twice.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends

from connector.api.management.auth import api_key_dependency
from connector.api.management.catalog_admin import router as offering_router
from connector.api.management.credentials import router as credentials_router
from connector.api.management.events import router as events_router
from connector.api.management.processes import router as processes_router
from connector.api.management.self_description import router as self_description_router
from connector.services.assembly import Connector
from connector.settings import ConnectorSettings

PREFIX = "/api/management/v1"


def router(settings: ConnectorSettings, get: Callable[[], Connector]) -> APIRouter:
    r = APIRouter(prefix=PREFIX, dependencies=[Depends(api_key_dependency(settings))])
    r.include_router(offering_router(get))
    r.include_router(processes_router(get))
    r.include_router(events_router(get))
    r.include_router(self_description_router(get))
    r.include_router(credentials_router(get, settings.path(settings.credentials_dir)))
    return r
