"""Self-issued ID tokens between connectors (DCP 1.0 §"Self-Issued ID Tokens" and §"Validating Self-Issued ID Tokens").

Every DSP request a connector sends carries a JWT it signed with its own did:web key: ``iss`` = ``sub`` = its DID,
``aud`` = the peer's DID, ``jti``, ``iat``, ``exp`` and, optionally, ``token``: an access token the peer may present
to the caller's Credential Service to fetch its verifiable presentation (DCP 1.0 VPP §"Submitting an Access Token").

Verification follows the spec's steps in order: ``iss == sub``; ``aud`` is our DID; the signature verifies with a key
of the ``sub`` DID document listed under ``capabilityInvocation`` (by ``kid``, or the only method when no ``kid``);
``sub`` equals the document ``id``; ``nbf``/``exp`` with leeway; ``jti`` never seen before. Real peers differ in
details we tolerate (``shared/reference/dsp.md`` §9): EDC sends the token raw in ``Authorization`` without
``Bearer ``, and some issuers write times in milliseconds.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from connector.errors import ConnectorError
from connector.identity.participant import ParticipantIdentity
from self_descriptions.did import DidError, DidResolver
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import check_alg
from self_descriptions.proofs.jose import JoseError, parse_compact, sign_compact, verify_signature

#: Lifetime of the tokens we issue: long enough for a slow peer, short enough to make theft useless.
DEFAULT_LIFETIME = dt.timedelta(minutes=5)
#: Clock skew tolerated on ``nbf``/``exp``/``iat``.
DEFAULT_LEEWAY = dt.timedelta(seconds=30)
#: Tokens issued longer ago than this are refused, which bounds how long a ``jti`` must be remembered.
MAX_TOKEN_AGE = dt.timedelta(hours=1)
#: A header value longer than this is refused before any parsing.
MAX_TOKEN_BYTES = 16 * 1024
ALLOWED_ALGS = ("ES256", "PS256", "RS256", "EdDSA")
#: Values above this are milliseconds since the epoch (10^11 s is the year 5138).
_MILLISECONDS_THRESHOLD = 10**11


class AuthenticationError(ConnectorError):
    """The caller's token was missing or invalid; the DSP edge answers 404 (DSP 2025-1: unknown or unauthorized)."""

    code = "authentication-failed"


class JtiStore(Protocol):
    """Replay protection: remembers token ids until they expire."""

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        """Record ``jti``; False when it was already seen and has not expired (a replay)."""
        ...


@dataclass(frozen=True)
class VerifiedCaller:
    """Who called, as proven by a valid self-issued ID token."""

    did: str
    jti: str
    expires_at: dt.datetime
    access_token: str | None = None
    scopes: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)


def issue_token(
    identity: ParticipantIdentity,
    audience: str,
    *,
    now: dt.datetime,
    access_token: str | None = None,
    scopes: Sequence[str] = (),
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS self-issued ID token from ``identity`` for ``audience`` (a DID)."""
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": identity.did,
        "sub": identity.did,
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "iat": issued,
        "nbf": issued,
        "exp": int((now + lifetime).timestamp()),
    }
    if access_token is not None:
        claims["token"] = access_token
    if scopes:
        claims["scope"] = " ".join(scopes)
    if extra:
        claims.update(extra)
    header = {"alg": identity.key.alg, "typ": "JWT", "kid": identity.kid}
    # Signed with our JOSE module (``cryptography`` directly): jwcrypto's JWS objects copy their header registry
    # per token, a few per cent of a connector's CPU in bench/negotiation.py.
    return sign_compact(header, json.dumps(claims, separators=(",", ":")).encode(), identity.key)


def extract_token(authorization: str | None) -> str:
    """The token from an ``Authorization`` header value, with or without ``Bearer `` (EDC sends it raw)."""
    if not authorization:
        raise AuthenticationError("missing Authorization header with a self-issued ID token")
    value = authorization.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value:
        raise AuthenticationError("empty Authorization header")
    if len(value) > MAX_TOKEN_BYTES:
        raise AuthenticationError(f"token longer than {MAX_TOKEN_BYTES} bytes")
    return value


def unverified_claims(token: str) -> dict[str, Any]:
    """Decode the payload without verifying (only to learn whose DID document to resolve)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthenticationError("token is not a compact JWS (header.payload.signature)")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise AuthenticationError(f"token payload is not base64url JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise AuthenticationError("token payload is not a JSON object")
    return payload


def numeric_time(value: object, claim: str) -> dt.datetime:
    """A JWT NumericDate as UTC datetime; seconds per RFC 7519 §2, milliseconds tolerated (GXDCH, some wallets)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthenticationError(f"claim {claim!r} must be a number of seconds since the epoch")
    seconds = value / 1000 if value > _MILLISECONDS_THRESHOLD else value
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise AuthenticationError(f"claim {claim!r} is out of range") from exc


async def verify_token(
    authorization: str | None,
    *,
    audience: str,
    resolver: DidResolver,
    jti_store: JtiStore,
    now: dt.datetime,
    leeway: dt.timedelta = DEFAULT_LEEWAY,
) -> VerifiedCaller:
    """Validate a self-issued ID token (DCP 1.0 §"Validating Self-Issued ID Tokens"); raise with the reason."""
    token = extract_token(authorization)
    claims = unverified_claims(token)
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith("did:"):
        raise AuthenticationError("claim 'sub' must be the caller's DID")
    if iss != sub:
        raise AuthenticationError(f"claims 'iss' ({iss!r}) and 'sub' ({sub!r}) differ")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise AuthenticationError(f"token audience {aud!r} is not this connector ({audience})")

    header = _protected_header(token)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise AuthenticationError(f"algorithm {alg!r} is not accepted (use one of {', '.join(ALLOWED_ALGS)})")
    for forbidden in ("jwk", "jku", "x5c", "x5u"):
        if forbidden in header:
            raise AuthenticationError(f"header {forbidden!r} is not accepted: keys come from the DID document only")
    try:
        document = await resolver.resolve(sub)
    except DidError as exc:
        raise AuthenticationError(f"cannot resolve caller DID {sub}: {exc.message}") from exc
    if document.id != sub:
        raise AuthenticationError(f"DID document id {document.id!r} is not the token subject {sub!r}")
    kid = header.get("kid")
    if kid is None:
        methods = document.method_ids("capabilityInvocation")
        if len(methods) != 1:
            raise AuthenticationError("token has no 'kid' and the DID document has not exactly one capability key")
        kid = methods[0]
    if not isinstance(kid, str):
        raise AuthenticationError("header 'kid' must be a string")
    try:
        public = document.public_jwk(kid, relationship="capabilityInvocation")
        check_alg(str(public.get("kty")), str(alg))
        if public.get("alg") not in (None, alg):
            raise AuthenticationError(f"token alg {alg} differs from the key's alg {public.get('alg')}")
        # The key object is cached by its material (jose.public_key): a rotated key is a new entry.
        verify_signature(parse_compact(token), public)
    except JoseError as exc:
        if exc.code == "bad-signature":
            raise AuthenticationError(f"signature does not verify with {kid}") from exc
        raise AuthenticationError(f"caller key {kid}: {exc.message}") from exc
    except (DidError, SelfDescriptionError) as exc:
        raise AuthenticationError(f"caller key {kid}: {exc.message}") from exc

    expires = numeric_time(claims.get("exp"), "exp")
    if now >= expires + leeway:
        raise AuthenticationError(f"token expired at {expires.isoformat()}")
    if "nbf" in claims and now + leeway < numeric_time(claims["nbf"], "nbf"):
        raise AuthenticationError("token is not valid yet (nbf in the future)")
    issued = numeric_time(claims.get("iat"), "iat")
    if issued > now + leeway:
        raise AuthenticationError("token issued in the future (iat)")
    if now - issued > MAX_TOKEN_AGE:
        raise AuthenticationError(f"token issued more than {MAX_TOKEN_AGE} ago")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise AuthenticationError("claim 'jti' is missing")
    if not await jti_store.remember_jti(f"{sub}|{jti}", expires + leeway, now):
        raise AuthenticationError(f"token id {jti} was already used (replay)")
    access = claims.get("token")
    scope = claims.get("scope")
    return VerifiedCaller(
        did=sub,
        jti=jti,
        expires_at=expires,
        access_token=access if isinstance(access, str) else None,
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        claims=claims,
    )


def _protected_header(token: str) -> dict[str, Any]:
    try:
        raw = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode((raw + "=" * (-len(raw) % 4)).encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise AuthenticationError(f"token header is not base64url JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise AuthenticationError("token header is not a JSON object")
    return header
