"""The DSP exchange between connectors: one buffered request and answer over a pooled aiohttp connection.

Every DSP message a connector sends (negotiation, transfer, catalog requests, the peer's version document) is a small
JSON request with a small JSON answer. Through httpx each of them cost about 2.7 ms of CPU per negotiation, about 15 %
of a connector's CPU in ``bench/negotiation.py``: httpcore's pool walks every connection on every request and each
request goes through anyio, h11 and several stream wrappers. aiohttp's client parses with its C extension and keeps
its pool per host; the same exchange costs about a tenth of the CPU.

This module knows nothing about where requests may go: :class:`connector.peer.egress.GuardedClient` checks every URL
and redirect and hands the :class:`PeerSession` a resolver (:class:`connector.peer.egress.EgressResolver`) that refuses
forbidden addresses. aiohttp connects to exactly the addresses its resolver returned, so no second lookup exists for a
rebinding DNS server to answer differently, and TLS SNI and ``Host`` carry the URL's own host.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver

from connector.errors import ConnectorError
from connector.peer.bulk import USER_AGENT, default_ssl_context

#: Connections open at once, to all peers together (the httpx client's ``max_connections``).
CONNECTION_LIMIT = 200
#: Idle pooled connections are dropped after this long: before uvicorn (which every peer of ours runs) drops them
#: after 5 s, so a reused connection is rarely closed under a request (``PeerClient.send`` resends once when it is).
KEEPALIVE_SECONDS = 3.0
#: Longest wait for a TCP (and TLS) connection, within the request's own timeout.
CONNECT_TIMEOUT = 5.0
#: What httpx announced: DSP answers are JSON and may come compressed; aiohttp would add ``br``/``zstd`` when their
#: optional packages happen to be installed, so the header is fixed here.
ACCEPT_ENCODING = "gzip, deflate"
#: Errors of a request on a connection the peer closed under us (reset, broken pipe), no answer having been read.
_STALE_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


class ExchangeFailed(ConnectorError):
    """The peer could not be reached, did not answer in time, broke off its answer or sent too much."""

    code = "peer-exchange-failed"


class StaleConnection(ExchangeFailed):
    """The request died before any answer, on a connection the peer closed (typically a pooled keep-alive one it
    dropped as we reused it): nothing was read, so the caller may send it once more (with a fresh token)."""

    code = "peer-connection-stale"


@dataclass(frozen=True, slots=True)
class Exchanged:
    """A complete answer: status, header fields with lower-case names (repeated ones joined with ``, `` as httpx
    did), and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


class PeerSession:
    """One aiohttp ``ClientSession`` (its connection pool), created on first use inside the running event loop and
    bound to that loop; :meth:`aclose` closes it.

    ``resolver`` decides which addresses a host name may connect to; IP literals never reach it (aiohttp skips its
    resolver for them), so callers check those themselves before :meth:`send`."""

    def __init__(self, resolver: AbstractResolver, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._resolver = resolver
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=CONNECTION_LIMIT,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=self._ssl_context or default_ssl_context(),
            resolver=self._resolver,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            # Cookies one peer sets must never travel to another (nor back: DSP does not use them).
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
            # httpx sent no Content-Type of its own for a bytes body; aiohttp would say application/octet-stream.
            skip_auto_headers=("Content-Type",),
            # No proxy from the environment: where a request goes is the egress policy's decision alone.
            trust_env=False,
        )
        # aiohttp resends an idempotent request once by itself when a pooled connection turns out closed, with the
        # same headers: a DCP token's ``jti`` must not repeat, so the resend is left to PeerClient (new token).
        # aiohttp's own test client switches it off the same way; there is no public option.
        session._retry_connection = False
        return session

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        request_timeout: float,
        max_bytes: int,
    ) -> Exchanged:
        """Send one request (redirects are not followed: the answer is returned as it is) and read the whole answer.

        Raises :class:`StaleConnection` when the request died before any answer on a closed connection,
        :class:`ExchangeFailed` for every other failure to connect, to get an answer within ``request_timeout``
        seconds or to read it, and when the body is larger than ``max_bytes``. Whatever the resolver raises (other
        than ``OSError``, which aiohttp reports as a failed connection) comes out unchanged."""
        if self._session is None:
            self._session = self._open()
        try:
            response = await self._session.request(
                method,
                url,
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=request_timeout, connect=min(request_timeout, CONNECT_TIMEOUT)),
            )
        except TimeoutError as exc:  # aiohttp's connect/read timeouts are TimeoutErrors too
            raise ExchangeFailed(f"no answer within {request_timeout:g} s ({type(exc).__name__})") from exc
        except aiohttp.ClientConnectorError as exc:  # never connected: refused, unresolvable, TLS failure
            raise ExchangeFailed(f"{type(exc).__name__}: {exc}") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionResetError, aiohttp.UploadAbortedError) as exc:
            raise StaleConnection(f"{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientOSError as exc:
            if exc.errno in _STALE_ERRNOS:
                raise StaleConnection(f"{type(exc).__name__}: {exc}") from exc
            raise ExchangeFailed(f"{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise ExchangeFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            return Exchanged(response.status, _headers(response), await _body(response, max_bytes))
        except TimeoutError as exc:
            raise ExchangeFailed(f"the answer did not arrive within {request_timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise ExchangeFailed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            response.release()

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


async def _body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``max_bytes``: from ``Content-Length`` before reading, else
    while reading (decompressed bytes are what count, so a small compressed bomb is caught as well)."""
    too_large = f"answer larger than {max_bytes} bytes"
    if response.content_length is not None and response.content_length > max_bytes:
        raise ExchangeFailed(too_large)
    received = bytearray()
    async for chunk in response.content.iter_any():
        received += chunk
        if len(received) > max_bytes:
            raise ExchangeFailed(too_large)
    return bytes(received)
