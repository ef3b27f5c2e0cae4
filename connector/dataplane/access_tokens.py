"""Data-plane access tokens for HTTP pull (the ``authorization`` endpoint property of a DSP ``DataAddress``).

DSP 2025-1 §transfer leaves the token format to the provider; ours is a short-lived JWS the provider signs with
its participant key and verifies itself, bound to one transfer process (``tid`` = providerPid), its agreement
(``aid``) and the consumer (``sub`` = consumer DID). Revocation is by state, not by list: every access also checks
that the transfer is still STARTED, so suspend/complete/terminate revoke all tokens of a transfer at once.
Refreshing mints a new token while the transfer lives; the old one stays valid until it expires so a consumer
switching tokens never races itself (the failure mode reported for Tractus-X EDR refresh, see field.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass

from jwcrypto import jws
from jwcrypto.common import JWException

from connector.errors import ConnectorError
from self_descriptions.keys import KeyPair

TOKEN_TYPE = "gxc-dataplane+jwt"  # noqa: S105 - a JOSE "typ" value, not a secret
DEFAULT_TTL = dt.timedelta(minutes=10)
#: An expired token can still be exchanged for a new one this long after expiry (while the transfer lives).
REFRESH_GRACE = dt.timedelta(hours=1)


class AccessTokenError(ConnectorError):
    """The data-plane token is malformed, forged, expired or bound to something else."""

    code = "dataplane-token-invalid"


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of a data-plane token."""

    transfer_id: str
    agreement_id: str
    consumer: str
    issuer: str
    jti: str
    expires_at: dt.datetime


def issue_access_token(
    key: KeyPair,
    *,
    issuer: str,
    transfer_id: str,
    agreement_id: str,
    consumer: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> tuple[str, dt.datetime]:
    """Sign a token for one transfer; returns the compact JWS and its expiry."""
    expires = dt.datetime.fromtimestamp(int((now + ttl).timestamp()), tz=dt.UTC)
    claims: dict[str, str | int] = {
        "iss": issuer,
        "sub": consumer,
        "aud": issuer,
        "tid": transfer_id,
        "aid": agreement_id,
        "jti": str(uuid.uuid4()),
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    token = jws.JWS(json.dumps(claims, separators=(",", ":")).encode())
    token.add_signature(key.jwk, None, {"alg": key.alg, "typ": TOKEN_TYPE})
    return str(token.serialize(compact=True)), expires


def verify_access_token(
    token: str, key: KeyPair, *, issuer: str, now: dt.datetime, allow_expired_for_refresh: bool = False
) -> AccessClaims:
    """Verify signature, type, issuer and expiry; the caller then checks the transfer is still STARTED."""
    try:
        header = json.loads(_b64(token.split(".", 1)[0]))
        verifier = jws.JWS()
        verifier.deserialize(token)
        if not isinstance(header, dict) or header.get("typ") != TOKEN_TYPE or header.get("alg") != key.alg:
            raise AccessTokenError("not a data-plane token of this connector")
        verifier.verify(key.jwk, alg=key.alg)
        claims = json.loads(verifier.payload)
    except (JWException, ValueError, IndexError) as exc:
        raise AccessTokenError("data-plane token is malformed or its signature does not verify") from exc
    if not isinstance(claims, dict) or claims.get("iss") != issuer or claims.get("aud") != issuer:
        raise AccessTokenError("data-plane token was issued for another connector")
    try:
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), tz=dt.UTC)
        result = AccessClaims(
            transfer_id=str(claims["tid"]),
            agreement_id=str(claims["aid"]),
            consumer=str(claims["sub"]),
            issuer=str(claims["iss"]),
            jti=str(claims["jti"]),
            expires_at=expires,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AccessTokenError("data-plane token lacks a required claim") from exc
    limit = expires + (REFRESH_GRACE if allow_expired_for_refresh else dt.timedelta(0))
    if now >= limit:
        raise AccessTokenError(
            f"data-plane token expired at {expires.isoformat()}; refresh it while the transfer is running"
        )
    return result


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
