"""Liveness/readiness: ``GET /health`` answers 200 with the version and DID once the app has started."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from connector import __version__
from connector.identity.participant import ParticipantIdentity


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    version: str = Field(examples=["0.1.0"])
    did: str = Field(examples=["did:web:127.0.0.1%3A8181"])


def router(identity: ParticipantIdentity) -> APIRouter:
    r = APIRouter(tags=["operations"])

    @r.get("/health", summary="Health check", response_model=Health)
    async def health() -> Health:
        return Health(status="ok", version=__version__, did=identity.did)

    return r
