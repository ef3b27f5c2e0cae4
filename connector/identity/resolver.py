"""HTTP did:web resolver and x5u fetcher with an SSRF guard, timeouts, size limits and a TTL cache.

Implements :class:`self_descriptions.did.DidResolver` and :class:`self_descriptions.trust.X5uFetcher` over httpx.
The guard is the connector's one egress policy (:mod:`connector.peer.egress`, OWASP SSRF Prevention Cheat Sheet):
every target host is resolved first and refused when any address is private, loopback, link-local, shared,
multicast, reserved or unspecified, unless the policy allows it (``allow_private`` for development on 127.0.0.1,
or ``egress_allowed_networks``). The request then connects to exactly the address that was checked (pinned; no
second DNS lookup a rebinding server could answer differently). Redirects are followed by hand (at most
``max_redirects``) and every hop is checked and pinned again. Responses are streamed and cut at ``max_bytes``.
Successful DID documents are cached for ``ttl`` seconds (GXDCH caches for 5 minutes, ``gaiax.md`` §5.2).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from connector.peer.egress import EgressPolicy, IpAddress, lookup, pinned_request
from self_descriptions.did import DidDocument, DidError, did_web_to_url
from self_descriptions.errors import CertificateError

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_TTL = 300.0


class UnsafeTarget(Exception):
    """The URL points at a host this resolver must not contact (SSRF guard)."""


class GuardedFetcher:
    """GET with the egress policy (address pinned), manual redirect checks, a size limit and a timeout."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        allow_private: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = 3,
        allowed_schemes: tuple[str, ...] = ("https",),
        policy: EgressPolicy | None = None,
    ) -> None:
        self._client = client or httpx.AsyncClient(follow_redirects=False, timeout=timeout)
        self._owns_client = client is None
        self.policy = policy or EgressPolicy(allow_private=allow_private)
        self.allow_private = self.policy.allow_private
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allowed_schemes = allowed_schemes

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def get(self, url: str, *, accept: str) -> bytes:
        """The body at ``url``; raises :class:`UnsafeTarget` or ``ValueError`` with the reason."""
        current = url
        for _ in range(self.max_redirects + 1):
            address = await self.check_target(current)
            if address is None:  # only an override of check_target opts out of pinning
                request = self._client.build_request("GET", current, headers={"Accept": accept})
            else:
                request = pinned_request(self._client, "GET", current, address, headers={"Accept": accept})
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self._client.send(request, stream=True, follow_redirects=False)
                    try:
                        if response.is_redirect:
                            location = response.headers.get("location")
                            if not location:
                                raise ValueError(f"{current} redirects without a Location")
                            current = urljoin(current, location)
                            continue
                        return await self._read(current, response)
                    finally:
                        await response.aclose()
            except TimeoutError as exc:
                raise ValueError(f"{current} did not answer within {self.timeout} s") from exc
            except httpx.HTTPError as exc:
                raise ValueError(f"cannot fetch {current}: {exc}") from exc
        raise ValueError(f"{url} redirects more than {self.max_redirects} times")

    async def _read(self, url: str, response: httpx.Response) -> bytes:
        if response.status_code != 200:
            raise ValueError(f"{url} answered HTTP {response.status_code}")
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise ValueError(f"{url} is larger than {self.max_bytes} bytes")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                raise ValueError(f"{url} is larger than {self.max_bytes} bytes")
        return bytes(body)

    async def check_target(self, url: str) -> IpAddress | None:
        """The address to connect to for ``url``; raises :class:`UnsafeTarget` when the policy forbids it.

        Every address the host resolves to must be allowed (an attacker controls which one a client would pick);
        the first one is returned and the request is pinned to it.
        """
        parts = urlsplit(url)
        if parts.scheme not in self.allowed_schemes:
            raise UnsafeTarget(f"{url}: scheme {parts.scheme!r} is not allowed ({', '.join(self.allowed_schemes)})")
        host = parts.hostname
        if not host:
            raise UnsafeTarget(f"{url} has no host")
        try:
            addresses = await lookup(host, parts.port or (443 if parts.scheme == "https" else 80))
        except OSError as exc:
            raise ValueError(f"cannot resolve host {host}: {exc}") from exc
        if not addresses:
            raise ValueError(f"cannot resolve host {host}: no addresses")
        for address in addresses:
            if not self.policy.address_allowed(address):
                raise UnsafeTarget(
                    f"{url} resolves to the non-public address {address}; refusing (allow it with "
                    f'egress_allow_private = true or egress_allowed_networks = ["{address}/32"])'
                )
        return addresses[0]


class HttpDidResolver:
    """did:web resolution over HTTPS (did:web spec §3.2) with cache, limits and the SSRF guard."""

    def __init__(
        self,
        fetcher: GuardedFetcher | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        scheme: str = "https",
    ) -> None:
        self.fetcher = fetcher or GuardedFetcher()
        self.ttl = ttl
        self._clock = clock
        self._scheme = scheme
        self._cache: dict[str, tuple[float, DidDocument]] = {}

    async def resolve(self, did: str) -> DidDocument:
        base = did.split("#", 1)[0]
        cached = self._cache.get(base)
        if cached is not None and self._clock() < cached[0]:
            return cached[1]
        url = did_web_to_url(base, scheme=self._scheme)
        try:
            body = await self.fetcher.get(url, accept="application/did+json, application/json")
        except (UnsafeTarget, ValueError) as exc:
            raise DidError(f"cannot resolve {base}: {exc}") from exc
        try:
            raw = json.loads(body)
        except ValueError as exc:
            raise DidError(f"the DID document of {base} at {url} is not JSON") from exc
        if not isinstance(raw, dict):
            raise DidError(f"the DID document of {base} is not a JSON object")
        document = DidDocument.parse(raw, expected_id=base)
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[base] = (self._clock() + self.ttl, document)
        return document


class HttpX5uFetcher:
    """Fetches x5u PEM chains with the same guard and limits."""

    def __init__(self, fetcher: GuardedFetcher | None = None) -> None:
        self.fetcher = fetcher or GuardedFetcher()

    async def fetch(self, url: str) -> bytes:
        try:
            return await self.fetcher.get(url, accept="application/x-pem-file, application/pem-certificate-chain, */*")
        except (UnsafeTarget, ValueError) as exc:
            raise CertificateError(f"cannot fetch x5u chain: {exc}", code="x5u-unavailable") from exc
