"""The HTTP client for talking to peers: DSP messages with a DCP self-issued token on every request.

All outbound traffic to URLs chosen by others goes through :class:`~connector.peer.egress.GuardedClient` (DSP
messages through its aiohttp exchange, :mod:`connector.peer.session`). The client never raises on HTTP status codes:
the outbox worker decides what a 4xx or 5xx means for the process (DSP 2025-1 §negotiation/§transfer HTTPS binding:
200/201 ACK, 400 rejected, 404 unknown or unauthorized).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.errors import ConnectorError
from connector.identity.participant import ParticipantIdentity
from connector.identity.tokens import issue_token
from connector.peer.egress import GuardedClient
from connector.peer.session import Exchanged, ExchangeFailed, StaleConnection

#: Largest answer body read from a peer (a DSP ACK or catalog page).
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
DSP_VERSION = "2025-1"
#: How long the access token granted to one peer (the ``token`` claim) is reused: an ES256 signature per message
#: saved, and well inside the token's own lifetime (``wallet.ACCESS_TOKEN_TTL``, 5 minutes).
GRANT_REUSE = dt.timedelta(seconds=60)
#: How long a peer's discovered DSP base (its ``/.well-known/dspace-version``) is reused: a management call
#: (catalog, negotiation) then costs one round trip to the peer fewer.
DSP_BASE_REUSE = dt.timedelta(seconds=30)
CACHE_SIZE = 10_000
#: Errors of a request on a connection the peer closed under us: no answer was read, so it is sent once more.
STALE_CONNECTION = (StaleConnection,)


class PeerUnreachable(ConnectorError):
    """The peer could not be reached or did not answer in time (retryable)."""

    code = "peer-unreachable"


@dataclass(frozen=True)
class PeerResponse:
    """A peer's answer: status, parsed JSON body (or None) and the raw text for error reports."""

    status: int
    body: Any
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PeerClient:
    """Sends DSP requests as this participant. ``clock`` gives the time tokens are issued at."""

    def __init__(
        self,
        identity: ParticipantIdentity,
        http: GuardedClient,
        *,
        clock: Callable[[], dt.datetime],
        timeout: float = 10.0,
        credentials: Callable[[str], tuple[str, list[str]]] | None = None,
    ) -> None:
        self.identity = identity
        self.http = http
        self.clock = clock
        self.timeout = timeout
        #: audience DID -> (access token, scopes) letting that peer read our credentials while it handles our
        #: request (DCP: the ``token`` claim of our self-issued token).
        self.credentials = credentials
        self._grants: dict[str, tuple[dt.datetime, tuple[str, list[str]]]] = {}
        self._bases: dict[str, tuple[dt.datetime, str]] = {}

    def _grant(self, audience: str) -> tuple[str, list[str]]:
        """``credentials(audience)``, reused for :data:`GRANT_REUSE`."""
        assert self.credentials is not None
        now = self.clock()
        cached = self._grants.get(audience)
        if cached is not None and now < cached[0]:
            return cached[1]
        granted = self.credentials(audience)
        if len(self._grants) >= CACHE_SIZE:
            self._grants.clear()
        self._grants[audience] = (now + GRANT_REUSE, granted)
        return granted

    def token_for(self, audience: str, *, scopes: Sequence[str] = (), access_token: str | None = None) -> str:
        return issue_token(self.identity, audience, now=self.clock(), scopes=scopes, access_token=access_token)

    async def send(
        self,
        method: str,
        url: str,
        *,
        audience: str | None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        access_token: str | None = None,
        scopes: Sequence[str] = (),
        raw: tuple[bytes, str] | None = None,
    ) -> PeerResponse:
        """Send one request; ``audience`` (the peer's DID) adds our self-issued token. ``body`` is sent as JSON,
        ``raw`` as (bytes, content type). Raises PeerUnreachable, or EgressDenied when the URL or a redirect points
        where the egress policy forbids.

        A request that dies on an established connection before any answer (the peer closed a pooled keep-alive
        connection as we reused it) is sent once more on a new connection, with a fresh token (its ``jti`` must
        not repeat). That is safe: DSP receipt is idempotent (a repeated message returns the current state)."""
        base_headers = {"Accept": "application/json", **(headers or {})}
        content = None
        if raw is not None:
            content = raw[0]
            base_headers["Content-Type"] = raw[1]
        elif body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            base_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            all_headers = dict(base_headers)
            if audience is not None:
                if access_token is None and self.credentials is not None:
                    access_token, granted = self._grant(audience)
                    scopes = scopes or granted
                all_headers["Authorization"] = "Bearer " + self.token_for(
                    audience, scopes=scopes, access_token=access_token
                )
            try:
                answer = await self.http.exchange(
                    method,
                    url,
                    headers=all_headers,
                    content=content,
                    request_timeout=self.timeout,
                    max_bytes=MAX_RESPONSE_BYTES,
                )
                break
            except STALE_CONNECTION as exc:
                if attempt == 2:
                    raise PeerUnreachable(f"{method} {url}: {exc}") from exc
            except ExchangeFailed as exc:
                raise PeerUnreachable(f"{method} {url}: {exc}") from exc
        return _peer_response(answer)

    async def dsp_base(self, root_url: str) -> str:
        """The DSP 2025-1 base URL of a connector: ``root`` + the ``path`` its ``/.well-known/dspace-version``
        lists for version 2025-1 (DSP 2025-1 §common "Exposure of Versions"), reused for :data:`DSP_BASE_REUSE`. A
        URL that already is a DSP base (its version document is missing) is returned as given."""
        root = root_url.rstrip("/")
        now = self.clock()
        cached = self._bases.get(root)
        if cached is not None and now < cached[0]:
            return cached[1]
        answer = await self.send("GET", root + "/.well-known/dspace-version", audience=None)
        if not answer.ok or not isinstance(answer.body, Mapping):
            return root
        for entry in answer.body.get("protocolVersions", []):
            if isinstance(entry, Mapping) and entry.get("version") == DSP_VERSION and entry.get("binding") == "HTTPS":
                path = str(entry.get("path", ""))
                if path.startswith(("http://", "https://")):
                    base = path.rstrip("/")
                else:
                    base = root + "/" + path.strip("/") if path.strip("/") else root
                if len(self._bases) >= CACHE_SIZE:
                    self._bases.clear()
                self._bases[root] = (now + DSP_BASE_REUSE, base)  # only what the peer stated (no fallback)
                return base
        raise ConnectorError(
            f"{root} does not offer DSP {DSP_VERSION} over HTTPS (its /.well-known/dspace-version lists "
            f"{[e.get('version') for e in answer.body.get('protocolVersions', []) if isinstance(e, Mapping)]})",
            code="dsp-version-unsupported",
        )


def _peer_response(answer: Exchanged) -> PeerResponse:
    text = answer.body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        parsed = None
    return PeerResponse(status=answer.status, body=parsed, text=text[:2000], headers=answer.headers)
