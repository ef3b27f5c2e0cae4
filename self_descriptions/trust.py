"""Trust in a verification key: the ``x5u`` certificate chain of a DID document JWK, validated against anchors.

GXDCH (``gaiax.md`` §5.2, §7.1) requires ``publicKeyJwk.x5u``, downloads the PEM chain, checks that it ends in a
trusted root and that the leaf key is the JWK. Here the chain is validated locally against configured anchors
(``certificates.verify_chain``: path building, validity periods, CA flags, leaf key == JWK). The download is an
injected :class:`X5uFetcher` (the SSRF-guarded HTTP implementation lives in ``connector.identity.resolver``).
Validated chains are cached per (x5u, chain bytes, anchors) for the window in which every certificate is valid, so
repeated verifications cost one dictionary lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from self_descriptions.certificates import load_pem_certificates, verify_chain
from self_descriptions.errors import CertificateError
from self_descriptions.proofs.jose import public_key

#: Largest x5u PEM chain accepted.
MAX_X5U_BYTES = 256 * 1024


class X5uFetcher(Protocol):
    """Fetches the PEM chain at an ``x5u`` URL; raises :class:`CertificateError` with the reason on failure."""

    async def fetch(self, url: str) -> bytes: ...


class StaticX5uFetcher:
    """x5u chains given in memory (tests, offline verification, the connector's own chain)."""

    def __init__(self, chains: Mapping[str, bytes] | None = None) -> None:
        self._chains = dict(chains or {})

    def add(self, url: str, pem: bytes) -> None:
        self._chains[url] = pem

    async def fetch(self, url: str) -> bytes:
        pem = self._chains.get(url)
        if pem is None:
            raise CertificateError(f"no certificate chain is known for x5u {url!r} (offline verification)")
        return pem


class ChainValidator:
    """Validates x5u chains against fixed anchors, caching successes for their validity window."""

    def __init__(self, anchors: Sequence[x509.Certificate], fetcher: X5uFetcher | None) -> None:
        self.anchors = tuple(anchors)
        self.fetcher = fetcher
        self._cache: dict[tuple[str, str], tuple[dt.datetime, dt.datetime, str]] = {}

    async def validate(self, public_jwk: Mapping[str, Any], *, now: dt.datetime) -> str:
        """Validate the chain of ``public_jwk``'s ``x5u``; return the anchor's subject or raise CertificateError."""
        x5u = public_jwk.get("x5u")
        if not isinstance(x5u, str) or not x5u:
            raise CertificateError(
                "the key has no x5u certificate chain (GXDCH requires publicKeyJwk.x5u)", code="no-x5u"
            )
        if self.fetcher is None:
            raise CertificateError(f"cannot fetch x5u {x5u!r}: no fetcher configured (offline)", code="x5u-unavailable")
        pem = await self.fetcher.fetch(x5u)
        if len(pem) > MAX_X5U_BYTES:
            raise CertificateError(f"x5u chain at {x5u} is larger than {MAX_X5U_BYTES} bytes", code="x5u-too-large")
        jwk_id = _jwk_fingerprint(public_jwk)
        key = (x5u, hashlib.sha256(pem + jwk_id.encode()).hexdigest())
        cached = self._cache.get(key)
        if cached is not None and cached[0] <= now <= cached[1]:
            return cached[2]
        chain = load_pem_certificates(pem, source=f"x5u {x5u}")
        anchor = verify_chain(chain, self.anchors, now=now, expected_key=public_key(public_jwk))
        start = max(c.not_valid_before_utc for c in (*chain, anchor))
        end = min(c.not_valid_after_utc for c in (*chain, anchor))
        subject = anchor.subject.rfc4514_string()
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = (start, end, subject)
        return subject


def _jwk_fingerprint(public_jwk: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        public_key(public_jwk).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).hexdigest()
