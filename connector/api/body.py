"""Reading request bodies with a hard size limit, before any parsing (hostile input is bounded here)."""

from __future__ import annotations

from fastapi import Request

from connector.dsp.errors import MessageLimitExceeded


async def read_limited(request: Request, max_bytes: int) -> bytes:
    """The body, or MessageLimitExceeded (400) as soon as more than ``max_bytes`` arrived or were announced."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise MessageLimitExceeded(f"body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > max_bytes:
            raise MessageLimitExceeded(f"body exceeds the limit of {max_bytes} bytes")
    return bytes(data)
