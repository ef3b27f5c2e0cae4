"""The one shared httpx client of a connector process (connection pooling for all peers)."""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = 10.0


def http_client(
    *, timeout: float = DEFAULT_TIMEOUT, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A client that never follows redirects on its own (the egress guard re-checks each hop)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        # Idle connections are dropped before common servers drop them (uvicorn after 5 s, Jetty/EDC after 30 s), so
        # a reused one is rarely closed under a request (PeerClient.send resends once when it is).
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=3.0),
        follow_redirects=False,
        transport=transport,
    )
