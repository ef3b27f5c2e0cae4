"""The participant's own Gaia-X self-description: publish (build, certify, submit to catalogues) and inspect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from connector.api.body import LimitedBodyRoute
from connector.api.management.problems import ProblemError
from connector.services.assembly import Connector


def router(get: Callable[[], Connector]) -> APIRouter:
    r = APIRouter(tags=["management: self-description"], route_class=LimitedBodyRoute)

    @r.post("/self-description/publish", summary="Build, sign, certify and publish the self-description")
    async def publish() -> dict[str, Any]:
        publication = await get().publish_self_description()
        return publication.as_dict()

    @r.get("/self-description", summary="The last published self-description and the catalogues' answers")
    async def latest() -> dict[str, Any]:
        publication = get().publication
        if publication is None:
            raise ProblemError(404, "not-published", "not published yet: POST /self-description/publish")
        return publication.as_dict()

    return r
