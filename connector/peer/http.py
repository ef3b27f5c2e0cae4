"""The one shared httpx client of a connector process (DID documents, credentials, crawls, data-plane pushes; DSP
messages go through :mod:`connector.peer.session`)."""

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
        # a reused one is rarely closed under a request (DSP messages use their own aiohttp pool, with the same
        # expiry: connector/peer/session.py).
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=3.0),
        follow_redirects=False,
        transport=transport,
    )
