"""Server-sent events of process state changes (``GET /events``), for consoles and scripts that watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from connector.services.assembly import Connector

KEEPALIVE_SECONDS = 15.0


def router(get: Callable[[], Connector]) -> APIRouter:
    r = APIRouter(tags=["management: events"])

    @r.get(
        "/events",
        summary="State changes as server-sent events",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {"example": 'event: negotiation\ndata: {"state": "FINALIZED"}\n\n'}}}
        },
    )
    async def events(request: Request) -> StreamingResponse:
        connector = get()

        async def stream() -> AsyncIterator[bytes]:
            async with connector.runtime.events.subscribe() as queue:
                yield b": connected\n\n"
                while not await request.is_disconnected():
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    data = json.dumps(event.to_json(), separators=(",", ":"))
                    yield f"event: {event.kind}\ndata: {data}\n\n".encode()

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return r
