"""A lean HTTP/1.1 client for bulk bodies: the data plane's proxied backends and pulls (issue 6 §2).

httpx costs about 1.6 CPU seconds per proxied GiB on top of the socket copies: httpcore reads at most 256 KiB at a
time, and every read goes through anyio, h11's receive buffer (three copies: append, slice, ``bytes``) and httpx's
stream wrappers. Nothing in httpx or httpcore hands out a response body straight from the socket, so the body is
read here: h11 (the parser httpcore uses) writes the request and parses the response head, then a body framed by
``Content-Length`` or by the end of the connection is read with ``loop.sock_recv`` straight into the ``bytes`` that
are sent on (one copy, kernel to user, reads of up to 1 MiB), and a chunked body keeps going through h11. TLS
connections use asyncio's streams with the CA bundle httpx uses (``httpx.create_ssl_context``).

One connection per request (``Connection: close``): a bulk transfer dwarfs a connection set-up, and no pool means no
stale-connection retries. Where the connection goes is decided by the caller (the egress guard,
:meth:`connector.peer.egress.GuardedClient.stream`): it passes the checked address, and the URL's host travels
only in ``Host`` and the TLS server name.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol
from urllib.parse import urlsplit

import h11
import httpx

from connector.errors import ConnectorError

#: Largest body read asked of the socket: one ASGI message of the proxied answer (1 MiB messages are what lets
#: uvicorn send at nginx speed, performance.md §4). A read returns what the kernel has, so this is only a bound.
READ_SIZE = 1 << 20
#: Reads while the response head is parsed (h11 refuses heads over 16 KiB anyway).
HEAD_READ_SIZE = 64 * 1024
CONNECT_TIMEOUT = 5.0
#: Longest wait for the next bytes of an answer, or for the peer to take ours (httpx's default read timeout here).
READ_TIMEOUT = 10.0
USER_AGENT = "gxc-connector"
#: Reads served from what the socket already holds before one waits in the event loop (see _PlainConnection).
EAGER_READS = 4


class BulkError(ConnectorError):
    """The other end could not be reached, broke the protocol, went silent or broke off its answer."""

    code = "bulk-transfer-failed"


class _Connection(Protocol):
    async def recv(self, size: int) -> bytes: ...

    async def send(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class _PlainConnection:
    """A non-blocking TCP socket driven by the event loop's ``sock_*`` calls (no transport, no extra buffer)."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._eager = 0

    async def recv(self, size: int) -> bytes:
        # What the kernel already holds is taken without a trip through the event loop (uvloop's sock_recv always
        # waits for readiness first: two epoll_ctl calls and a loop turn per read). Every few reads the loop gets
        # its turn anyway, so a fast backend and a fast client cannot starve the other tasks.
        if self._eager < EAGER_READS:
            try:
                data = self._sock.recv(size)
            except BlockingIOError:
                pass
            else:
                self._eager += 1
                return data
        self._eager = 0
        async with asyncio.timeout(self._timeout):
            return await self._loop.sock_recv(self._sock, size)

    async def send(self, data: bytes) -> None:
        async with asyncio.timeout(self._timeout):
            await self._loop.sock_sendall(self._sock, data)

    def close(self) -> None:
        self._sock.close()


class _TlsConnection:
    """TLS through asyncio's streams (the ssl module needs a transport; throughput is then the cipher's)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout

    async def recv(self, size: int) -> bytes:
        async with asyncio.timeout(self._timeout):
            return await self._reader.read(size)

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        async with asyncio.timeout(self._timeout):
            await self._writer.drain()

    def close(self) -> None:
        # abort: no waiting for the peer's close_notify once we are done with the answer
        self._writer.transport.abort()


@cache
def default_ssl_context() -> ssl.SSLContext:
    """The trust httpx's clients use (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set)."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Timeouts:
    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT


class BulkResponse:
    """A response whose head is read; :meth:`chunks` streams the body once, :meth:`aclose` closes the connection.

    ``headers`` keeps the answer's fields in order with lower-case names; :meth:`header` joins repeated ones."""

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        connection: _Connection,
        parser: h11.Connection,
        framing: tuple[str, int],
    ) -> None:
        self.status = status
        self.headers = headers
        self._connection = connection
        self._parser = parser
        self._framing = framing
        self._closed = False

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return ", ".join(values) if values else None

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and self.header("location") is not None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives: raw (no content decoding), never empty chunks. Raises :class:`BulkError` when the
        connection breaks, stalls or ends before the framing says the body is complete."""
        kind, length = self._framing
        recv = self._connection.recv
        try:
            if kind == "chunked":
                async for data in self._chunked():
                    yield data
                return
            buffered, _ = self._parser.trailing_data
            if kind == "close":
                if buffered:
                    yield buffered
                while data := await recv(READ_SIZE):
                    yield data
                return
            first = buffered[:length]
            remaining = length - len(first)
            if first:
                yield first
            while remaining > 0:
                data = await recv(min(READ_SIZE, remaining))
                if not data:
                    raise BulkError(f"the connection closed {remaining} bytes before the end of the body")
                remaining -= len(data)
                yield data
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            raise BulkError(_describe(exc)) from exc
        finally:
            await self.aclose()

    async def _chunked(self) -> AsyncIterator[bytes]:
        while True:
            event = self._parser.next_event()
            if event is h11.NEED_DATA:
                self._parser.receive_data(await self._connection.recv(READ_SIZE))
            elif isinstance(event, h11.Data):
                if event.data:
                    yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:  # pragma: no cover - h11 yields nothing else in a body
                raise BulkError(f"unexpected {type(event).__name__} in the body")

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._connection.close()


async def open_response(
    method: str,
    url: str,
    address: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | AsyncIterator[bytes] | None = None,
    timeouts: Timeouts | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> BulkResponse:
    """Send one request to ``url`` over a new connection to ``address`` (an IP literal, already checked) and read
    the response head. The body is left on the connection: iterate :meth:`BulkResponse.chunks` or close it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BulkError(f"{parts.scheme!r} URLs are not supported")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection = await _connect(parts.scheme, address, port, parts.hostname or "", timeouts or Timeouts(), ssl_context)
    try:
        parser = h11.Connection(h11.CLIENT)
        await _send_request(connection, parser, method.upper(), url, parts.netloc, headers or {}, content)
        response = await _receive_head(connection, parser)
        fields = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers]
        return BulkResponse(
            response.status_code, fields, connection, parser, _framing(method.upper(), response.status_code, fields)
        )
    except BaseException as exc:
        connection.close()
        if isinstance(exc, (OSError, TimeoutError, h11.ProtocolError)):
            raise BulkError(_describe(exc)) from exc
        raise


async def _connect(
    scheme: str, address: str, port: int, host: str, timeouts: Timeouts, ssl_context: ssl.SSLContext | None
) -> _Connection:
    try:
        async with asyncio.timeout(timeouts.connect):
            if scheme == "https":
                reader, writer = await asyncio.open_connection(
                    address,
                    port,
                    ssl=ssl_context or default_ssl_context(),
                    server_hostname=host,
                    limit=READ_SIZE,
                    ssl_handshake_timeout=timeouts.connect,
                )
                return _TlsConnection(reader, writer, timeouts.read)
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                await asyncio.get_running_loop().sock_connect(sock, (address, port))
            except BaseException:
                sock.close()
                raise
            return _PlainConnection(sock, timeouts.read)
    except (OSError, TimeoutError) as exc:
        raise BulkError(_describe(exc, connecting=True)) from exc


async def _send_request(
    connection: _Connection,
    parser: h11.Connection,
    method: str,
    url: str,
    authority: str,
    headers: Mapping[str, str],
    content: bytes | AsyncIterator[bytes] | None,
) -> None:
    # httpx's URL model percent-encodes what a request target may not contain, exactly as httpx would send it.
    target = httpx.URL(url).raw_path
    fields: list[tuple[str, str]] = [("host", authority.rsplit("@", 1)[-1])]
    given = {k.lower() for k in headers}
    fields += [(k, v) for k, v in headers.items() if k.lower() not in ("host", "connection", "content-length")]
    if "user-agent" not in given:
        fields.append(("user-agent", USER_AGENT))
    fields.append(("connection", "close"))
    if isinstance(content, bytes):
        fields.append(("content-length", str(len(content))))
    elif content is not None:
        fields.append(("transfer-encoding", "chunked"))
    elif method in ("POST", "PUT", "PATCH"):
        fields.append(("content-length", "0"))
    head = parser.send(h11.Request(method=method, target=target, headers=fields))
    if isinstance(content, bytes):
        await connection.send(head + content)
    elif content is not None:
        await connection.send(head or b"")
        async for chunk in content:
            if chunk:
                await connection.send(parser.send(h11.Data(data=chunk)) or b"")
    else:
        await connection.send(head or b"")
    end = parser.send(h11.EndOfMessage())
    if end:
        await connection.send(end)


async def _receive_head(connection: _Connection, parser: h11.Connection) -> h11.Response:
    while True:
        event = parser.next_event()
        if event is h11.NEED_DATA:
            parser.receive_data(await connection.recv(HEAD_READ_SIZE))
        elif isinstance(event, h11.Response):
            return event
        elif isinstance(event, h11.InformationalResponse):
            continue  # 100 Continue, 103 Early Hints: the final answer follows
        else:
            raise BulkError(f"the server answered with {type(event).__name__} instead of a response")


def _framing(method: str, status: int, fields: Sequence[tuple[str, str]]) -> tuple[str, int]:
    """How the body ends (RFC 9112 §6.3), as h11 decided when it parsed the head: ``("length", n)``, ``("chunked",
    0)`` or ``("close", 0)`` (read until the connection ends)."""
    if method == "HEAD" or status in (204, 304):
        return ("length", 0)
    if any(k == "transfer-encoding" for k, _ in fields):
        return ("chunked", 0)  # h11 refuses any other transfer coding in a response
    lengths = [v for k, v in fields if k == "content-length"]
    if lengths:
        return ("length", int(lengths[0].split(",")[0].strip()))  # h11 checked that repeated values agree
    return ("close", 0)


def _describe(exc: BaseException, *, connecting: bool = False) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out " + ("connecting" if connecting else "waiting for the other end")
    if isinstance(exc, h11.ProtocolError):
        return f"HTTP protocol error: {exc}"
    what = "cannot connect" if connecting else "the connection broke"
    return f"{what}: {exc.strerror or type(exc).__name__}" if isinstance(exc, OSError) else str(exc)
