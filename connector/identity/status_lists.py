"""HTTP status list fetcher (W3C Bitstring Status List v1.0 §3.2 step 4) with the resolver's SSRF guard and cache.

Implements :class:`self_descriptions.status_list.StatusListFetcher`: a ``statusListCredential`` URL names a host the
credential's issuer chose, which is attacker-controlled input like a did:web, so the request goes through the same
:class:`~connector.identity.resolver.GuardedFetcher` (egress policy with the address pinned, redirects re-checked,
timeout, size limit). The body is returned as published: a compact VC-JWT (``application/vc+jwt``) or a JSON object;
its signature and contents are checked by :func:`self_descriptions.status_list.check_status`, never here.

Fetched lists are cached (§6.3 "Verifiers SHOULD cache the retrieved status list": fewer requests also tell the
issuer less about who is checking whom) for ``ttl`` seconds, or less when the list's own ``ttl`` (§2.2, in
milliseconds) asks for an earlier refresh. The cache bounds how late a revocation is noticed, so callers choose
``ttl`` from their freshness budget (``connector.identity.claims.STATUS_LIST_TTL``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from connector.identity.resolver import GuardedFetcher, UnsafeTarget
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.jose import b64url_decode
from self_descriptions.status_list import StatusRetrievalError

DEFAULT_TTL = 10.0
ACCEPT = "application/vc+jwt, application/vc+ld+json+jwt, application/vc+ld+jwt, application/vc, application/json"
CACHE_SIZE = 1024


class HttpStatusListFetcher:
    """GET status list credentials over the guarded fetcher; successful answers are cached (see the module)."""

    def __init__(
        self,
        fetcher: GuardedFetcher | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher or GuardedFetcher()
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, str | Mapping[str, Any]]] = {}

    async def fetch(self, url: str) -> str | Mapping[str, Any]:
        now = self._clock()
        cached = self._cache.get(url)
        # ``expires - now <= ttl`` also drops entries when an injected wall clock jumps backwards
        if cached is not None and now < cached[0] <= now + self.ttl:
            return cached[1]
        try:
            body = await self.fetcher.get(url, accept=ACCEPT)
        except (UnsafeTarget, ValueError) as exc:
            raise StatusRetrievalError(f"cannot retrieve the status list {url}: {exc}") from exc
        credential = _parse(url, body)
        lifetime = min(self.ttl, _list_ttl(credential))
        if lifetime > 0:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[url] = (now + lifetime, credential)
        return credential


def _parse(url: str, body: bytes) -> str | Mapping[str, Any]:
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise StatusRetrievalError(f"the status list at {url} is not UTF-8 text") from exc
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise StatusRetrievalError(f"the status list at {url} is not valid JSON") from exc
        if not isinstance(value, dict):
            raise StatusRetrievalError(f"the status list at {url} is not a JSON object")
        return value
    if text.count(".") == 2 and not any(c.isspace() for c in text):
        return text
    raise StatusRetrievalError(f"the status list at {url} is neither a VC-JWT nor a JSON credential")


def _list_ttl(credential: str | Mapping[str, Any]) -> float:
    """The list's §2.2 ``ttl`` in seconds, read without verification: it can only shorten our own cache time."""
    try:
        document = (
            credential if isinstance(credential, Mapping) else json.loads(b64url_decode(credential.split(".")[1]))
        )
        subject = document.get("credentialSubject")
        if isinstance(subject, list) and subject:
            subject = subject[0]
        ttl = subject.get("ttl") if isinstance(subject, Mapping) else None
    except (ValueError, IndexError, AttributeError, RecursionError, SelfDescriptionError):
        return float("inf")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
        return float("inf")
    return float(ttl) / 1000
