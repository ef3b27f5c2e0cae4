"""The console's own CSS and JavaScript, served from package data (no CDN, no build step, works offline)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

#: The only files served, with their media types (a fixed list: no path from the request reaches the disk).
FILES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


def router(package: str = "connector.api.console") -> APIRouter:
    r = APIRouter()
    contents = {name: (resources.files(package) / "static" / name).read_bytes() for name in FILES}

    @r.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in FILES:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(
            contents[name],
            media_type=FILES[name],
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    return r
