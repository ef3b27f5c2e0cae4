"""Streamed bodies: files read in 1 MiB chunks with read-ahead, HTTP backends proxied as their socket reads arrive.

Nothing is ever held whole: a few chunks of a transfer are in memory (the one being sent, the one being read and
at most two hash batches of 1 MiB), so memory stays flat whatever the size (issue 6 §3). 1 MiB file chunks
matter: 64 KiB ASGI messages cap uvicorn near 1 GB/s, 1 MiB reaches nginx class (performance.md §4). The SHA-256
of what is sent is computed in a worker thread while the event loop sends (hashlib releases the GIL on large
buffers), so hashing overlaps I/O. Backend bodies are read by the lean client of :mod:`connector.peer.bulk` (reads
of up to 1 MiB straight into the ``bytes`` that are sent); on a proxied stream that hashing, one core's SHA-256, is
the ceiling (bench/dataplane.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from connector.dataplane.sources import CHUNK_SIZE, FileInfo, SourceError
from connector.errors import ConnectorError
from connector.peer.bulk import BulkError, BulkResponse

log = logging.getLogger(__name__)

#: Bytes hashed per worker job (see :class:`Meter`).
HASH_BATCH = CHUNK_SIZE

#: The egress guard's error code (``connector.peer.egress.EgressDenied``).
EGRESS_DENIED = "egress-denied"

#: Headers of a backend's answer passed on to the consumer (hop-by-hop and cookies stay behind).
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "content-length",
    "content-range",
    "content-encoding",
    "accept-ranges",
    "etag",
    "last-modified",
    "cache-control",
    # RFC 9530 digests: the consumer's receipt records what the provider announced next to what it received
    "repr-digest",
    "content-digest",
)
#: Consumer request headers passed on to a backend (conditional and range requests).
FORWARDED_REQUEST_HEADERS = ("range", "if-range", "if-none-match", "if-modified-since", "accept", "accept-encoding")


class Meter:
    """SHA-256 of the bytes of one stream, hashed off the event loop by one worker job at a time, in order.

    Chunks are collected until :data:`HASH_BATCH` bytes are pending and then hashed in one executor job (hashlib
    releases the GIL on large buffers), so a stream of small chunks (a proxied backend delivers what one socket
    read returned) costs one thread hop per MiB, not one per chunk. At most two batches are held: the one being
    hashed and the one being collected."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._pending: asyncio.Future[None] | None = None
        self._batch: list[bytes] = []
        self._batched = 0
        self.bytes = 0

    async def feed(self, chunk: bytes) -> None:
        self.bytes += len(chunk)
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= HASH_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if self._pending is not None:
            await self._pending
            self._pending = None
        if self._batch:
            batch, self._batch, self._batched = self._batch, [], 0
            self._pending = asyncio.get_running_loop().run_in_executor(None, _update, self._hash, batch)

    async def digest(self) -> str:
        """``sha-256=<hex>`` of everything fed (waits for the last batch's hash)."""
        await self._flush()
        if self._pending is not None:
            await self._pending
            self._pending = None
        return "sha-256=" + self._hash.hexdigest()

    async def close(self) -> None:
        self._batch, self._batched = [], 0
        if self._pending is not None:
            await asyncio.gather(self._pending, return_exceptions=True)
            self._pending = None


def _update(hasher: Any, batch: list[bytes]) -> None:
    for chunk in batch:
        hasher.update(chunk)


def repr_digest(hex_digest: str) -> str:
    """An RFC 9530 ``Repr-Digest`` field value from a ``sha-256=<hex>`` digest."""
    raw = bytes.fromhex(hex_digest.removeprefix("sha-256="))
    return f"sha-256=:{base64.b64encode(raw).decode('ascii')}:"


async def file_chunks(info: FileInfo, start: int, length: int, meter: Meter | None) -> AsyncIterator[bytes]:
    """Bytes ``start .. start+length`` of the file, read ahead one chunk in a worker thread."""
    loop = asyncio.get_running_loop()
    fd = os.open(info.path, os.O_RDONLY)
    pending: asyncio.Future[bytes] | None = None
    try:
        position, remaining = start, length

        def read(at: int, size: int) -> bytes:
            return os.pread(fd, size, at)

        if remaining > 0:
            pending = loop.run_in_executor(None, read, position, min(CHUNK_SIZE, remaining))
        while pending is not None:
            data = await pending
            pending = None
            if not data:
                raise SourceError("the file became shorter while it was sent; the provider changed it")
            position += len(data)
            remaining -= len(data)
            if remaining > 0:
                pending = loop.run_in_executor(None, read, position, min(CHUNK_SIZE, remaining))
            if meter is not None:
                await meter.feed(data)
            yield data
    finally:
        if pending is not None:
            # the reader thread must finish before its descriptor is closed
            await asyncio.gather(pending, return_exceptions=True)
        os.close(fd)


class HttpRequester(Protocol):
    """What the data plane needs of an HTTP client: the SSRF-guarded client of ``connector.peer.egress`` (``stream``
    for bodies that are passed on, the lean client of ``connector.peer.bulk``; ``request`` for the rest)."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        stream: bool = False,
        request_timeout: float | None = None,
    ) -> httpx.Response: ...

    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        request_timeout: float | None = None,
    ) -> BulkResponse: ...


@dataclass
class Upstream:
    """An open backend response: status, the headers to forward, the body as chunks (close when done)."""

    status: int
    headers: dict[str, str]
    _response: BulkResponse
    meter: Meter | None = field(default=None)

    async def chunks(self) -> AsyncIterator[bytes]:
        # The chunks are what one socket read returned (up to 1 MiB, connector.peer.bulk), passed on unchanged: no
        # re-chunking, no copy. Hashing is batched (Meter), so a chunk costs no thread hop of its own.
        meter = self.meter
        try:
            async for chunk in self._response.chunks():
                if meter is not None:
                    await meter.feed(chunk)
                yield chunk
        except BulkError as exc:
            raise SourceError(f"the source broke off its answer: {exc.message}", code="source-unavailable") from exc
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()


async def open_upstream(
    client: HttpRequester,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    fixed_headers: Mapping[str, str] | None = None,
    meter: Meter | None = None,
    content: AsyncIterator[bytes] | None = None,
) -> Upstream:
    """Send the request and return its streamed answer (the body is not read yet). Of ``headers`` (the
    consumer's) only :data:`FORWARDED_REQUEST_HEADERS` pass; ``fixed_headers`` (ours: credentials) pass as given."""
    forwarded = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in FORWARDED_REQUEST_HEADERS}
    forwarded.setdefault("accept-encoding", "identity")
    forwarded.update(fixed_headers or {})
    try:
        response = await client.stream(method, url, headers=forwarded, content=content)
    except BulkError as exc:
        raise SourceError(f"the source is unreachable: {exc.message}", code="source-unavailable") from exc
    except ConnectorError as exc:
        raise _refused_by_egress(exc, "source") from exc
    if response.status >= 500:
        await response.aclose()
        raise SourceError(f"the source answered HTTP {response.status}", code="source-unavailable")
    kept = {k: response.header(k) or "" for k, _ in response.headers if k in FORWARDED_RESPONSE_HEADERS}
    return Upstream(response.status, kept, response, meter)


async def push_body(
    client: HttpRequester, url: str, chunks: AsyncIterator[bytes], *, headers: Mapping[str, str], method: str = "PUT"
) -> int:
    """Stream ``chunks`` to ``url``; returns the destination's status code (raises :class:`SourceError`)."""
    try:
        response = await client.request(method, url, headers=headers, content=chunks)
        await response.aclose()
    except httpx.HTTPError as exc:
        raise SourceError(f"the push destination is unreachable or broke off: {type(exc).__name__}") from exc
    except ConnectorError as exc:
        raise _refused_by_egress(exc, "push destination") from exc
    return response.status_code


def _refused_by_egress(exc: ConnectorError, what: str) -> ConnectorError:
    """The egress guard refused the backend: the operator's log gets the address and the fix, the other party only
    a generic reason (the provider's backend URLs and network layout are not the consumer's business)."""
    if exc.code != EGRESS_DENIED:
        return exc
    log.warning("data plane: %s refused by the egress policy: %s", what, exc.message)
    return SourceError(
        f"the {what} is not reachable under this connector's egress policy (the operator's log has the details)",
        code="source-unavailable",
    )
