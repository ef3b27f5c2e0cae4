"""The catalogue console's CSS and JavaScript from package data (a fixed list: no request path reaches the disk)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

FILES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


def router() -> APIRouter:
    r = APIRouter()
    contents = {name: (resources.files("catalog.console") / "static" / name).read_bytes() for name in FILES}

    @r.get("/console/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in FILES:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(contents[name], media_type=FILES[name], headers={"Cache-Control": "public, max-age=300"})

    return r
