"""Reading request bodies with a hard size limit and an idle limit, before any parsing (hostile input is bounded
here): the DSP binding and the Credential Service read through :func:`read_limited`; the management API's routes
use :class:`LimitedBodyRoute` (FastAPI's documented custom-route hook), so a JSON body is never read unbounded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from connector.dsp.errors import MessageLimitExceeded

#: A body that sends nothing for this long is abandoned (slowloris-style trickling holds a connection and a task).
BODY_IDLE_SECONDS = 30.0
#: Management API bodies (assets, policies, credentials): generous for JSON, bounded for memory.
MANAGEMENT_MAX_BODY_BYTES = 4 * 1024 * 1024


async def read_limited(request: Request, max_bytes: int, *, idle_seconds: float | None = None) -> bytes:
    """The body, or MessageLimitExceeded (400) as soon as more than ``max_bytes`` arrived or were announced, or
    when no byte arrived for ``idle_seconds`` (default :data:`BODY_IDLE_SECONDS`)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise MessageLimitExceeded(f"body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    idle = BODY_IDLE_SECONDS if idle_seconds is None else idle_seconds
    data = bytearray()
    chunks = request.stream().__aiter__()
    while True:
        try:
            async with asyncio.timeout(idle):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise MessageLimitExceeded(f"the body stalled: nothing arrived for {idle:g} s") from None
        data.extend(chunk)
        if len(data) > max_bytes:
            raise MessageLimitExceeded(f"body exceeds the limit of {max_bytes} bytes")
    return bytes(data)


class LimitedBodyRoute(APIRoute):
    """A route whose request body is read through :func:`read_limited` before FastAPI parses it.

    Too large or stalled: 413 problem+json (RFC 9110 §15.5.14, RFC 9457) and the endpoint never runs.
    """

    max_body_bytes = MANAGEMENT_MAX_BODY_BYTES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit = self.max_body_bytes

        async def limited(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                try:
                    # Starlette caches the body on the request; FastAPI's own parsing then reads the cached bytes.
                    request._body = await read_limited(request, limit)
                except MessageLimitExceeded as exc:
                    return JSONResponse(
                        {
                            "type": "urn:gxc:error:body-too-large",
                            "title": "Content Too Large",
                            "status": 413,
                            "detail": "; ".join(exc.reason),
                        },
                        status_code=413,
                        media_type="application/problem+json",
                    )
            return await handler(request)

        return limited
