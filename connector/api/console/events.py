"""``GET /console/events``: the management API's server-sent events for a signed-in browser.

``EventSource`` cannot send ``X-Api-Key``, so the console has its own stream behind the session cookie; it carries
only what changed (kind, id, state) and pages re-read themselves, so nothing here can go stale.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from connector.api.console.context import ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.session import Session

KEEPALIVE_SECONDS = 15.0


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    @r.get("/events", include_in_schema=False)
    async def events(request: Request, session: Annotated[Session, Depends(auth)]) -> StreamingResponse:
        bus = console.get().runtime.events

        async def stream() -> AsyncIterator[bytes]:
            async with bus.subscribe() as queue:
                yield b"retry: 2000\n: connected\n\n"
                while not await request.is_disconnected():
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    data = json.dumps(
                        {"kind": event.kind, "id": event.process_id, "state": event.state}, separators=(",", ":")
                    )
                    yield f"event: {event.kind}\ndata: {data}\n\n".encode()

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    return r
