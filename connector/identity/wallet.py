"""The credentials this participant holds and presents (DCP 1.0 "Credential Service", Resolution API).

Held credentials are VC-JWTs (VC-JOSE-COSE), e.g. the membership credential a federation issued to us or our own
Gaia-X self-description credentials. A verifier fetches them with ``POST /presentations/query``, authenticated with
its own self-issued ID token whose ``token`` claim is an *access token we issued* when we called it (DCP 1.0 VPP
§"Submitting an Access Token": proof of possession). Our access tokens are JWS we sign: ``iss`` = our DID,
``aud`` = the verifier's DID, ``scope`` = the credential scopes it may read, ``exp``, ``jti``. So only the verifier we
called, and only for the scopes we granted, can read our credentials; the presentation we return is a VP-JWT signed
by our key, short-lived.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwcrypto import jws
from jwcrypto.common import JWException

from connector.identity.participant import ParticipantIdentity
from connector.identity.tokens import AuthenticationError, numeric_time
from self_descriptions.proofs.vc_jwt import build_presentation, sign_vp_jwt

#: The DCP scope alias for "credentials of this type" (DCP 1.0 VPP §"The org.eclipse.dspace.dcp.vc.type Alias").
TYPE_SCOPE = "org.eclipse.dspace.dcp.vc.type:"
ACCESS_TOKEN_TYPE = "gxc-cs-access+jwt"  # noqa: S105 - a JOSE "typ" value, not a secret
ACCESS_TOKEN_TTL = dt.timedelta(minutes=5)
PRESENTATION_TTL = dt.timedelta(minutes=5)
DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"


@dataclass(frozen=True)
class HeldCredential:
    """A VC-JWT with the types read from its (unverified, it is ours) payload."""

    token: str
    types: tuple[str, ...]
    id: str | None

    @classmethod
    def from_token(cls, token: str) -> HeldCredential:
        token = token.strip()
        try:
            part = token.split(".")[1]
            payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (IndexError, ValueError) as exc:
            raise ValueError("not a compact VC-JWT") from exc
        raw_types = payload.get("type", [])
        types = (raw_types,) if isinstance(raw_types, str) else tuple(str(t) for t in raw_types)
        return cls(token=token, types=types, id=payload.get("id"))


class Wallet:
    """In-memory view of the held credentials (loaded from the state folder's ``credentials/*.jwt``)."""

    def __init__(self, credentials: Iterable[HeldCredential] = ()) -> None:
        self._credentials: dict[str, HeldCredential] = {}
        for credential in credentials:
            self.add(credential)

    @classmethod
    def from_folder(cls, folder: Path) -> Wallet:
        wallet = cls()
        if folder.is_dir():
            for path in sorted(folder.glob("*.jwt")):
                wallet.add(HeldCredential.from_token(path.read_text(encoding="utf-8")))
        return wallet

    def add(self, credential: HeldCredential) -> None:
        self._credentials[credential.id or credential.token[-32:]] = credential

    @property
    def credentials(self) -> list[HeldCredential]:
        return list(self._credentials.values())

    def scopes(self) -> list[str]:
        """A type scope for every credential type held (what we grant a verifier by default)."""
        types = {t for c in self._credentials.values() for t in c.types if t != "VerifiableCredential"}
        return sorted(TYPE_SCOPE + t for t in types)

    def select(self, scopes: Sequence[str]) -> list[HeldCredential]:
        wanted = {s[len(TYPE_SCOPE) :] for s in scopes if s.startswith(TYPE_SCOPE)}
        ids = {s.split(":", 1)[1] for s in scopes if s.startswith("org.eclipse.dspace.dcp.vc.id:")}
        return [c for c in self._credentials.values() if wanted.intersection(c.types) or (c.id in ids)]


def issue_access_token(identity: ParticipantIdentity, verifier: str, scopes: Sequence[str], *, now: dt.datetime) -> str:
    """The ``token`` claim we put in our self-issued ID token for ``verifier``."""
    claims = {
        "iss": identity.did,
        "sub": identity.did,
        "aud": verifier,
        "scope": " ".join(scopes),
        "jti": str(uuid.uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TOKEN_TTL).timestamp()),
    }
    token = jws.JWS(json.dumps(claims, separators=(",", ":")).encode())
    token.add_signature(
        identity.key.jwk, None, {"alg": identity.key.alg, "typ": ACCESS_TOKEN_TYPE, "kid": identity.kid}
    )
    return str(token.serialize(compact=True))


def check_access_token(token: str, identity: ParticipantIdentity, *, verifier: str, now: dt.datetime) -> list[str]:
    """Verify an access token we issued for ``verifier``; return the granted scopes or raise."""
    try:
        parsed = jws.JWS()
        parsed.deserialize(token)
        parsed.verify(identity.key.jwk, alg=identity.key.alg)
        claims = json.loads(parsed.payload)
    except (JWException, ValueError) as exc:
        raise AuthenticationError("the access token was not issued by this participant") from exc
    if not isinstance(claims, dict) or claims.get("iss") != identity.did:
        raise AuthenticationError("the access token was not issued by this participant")
    if claims.get("aud") != verifier:
        raise AuthenticationError(f"the access token was granted to {claims.get('aud')!r}, not to {verifier}")
    if now >= numeric_time(claims.get("exp"), "exp"):
        raise AuthenticationError("the access token expired")
    scope = claims.get("scope", "")
    return str(scope).split() if scope else []


def presentation_response(
    wallet: Wallet, identity: ParticipantIdentity, *, verifier: str, scopes: Sequence[str], now: dt.datetime
) -> dict[str, Any]:
    """A DCP ``PresentationResponseMessage`` with one VP-JWT of the credentials matching ``scopes``."""
    selected = wallet.select(scopes)
    vp = build_presentation(
        identity.did,
        [c.token for c in selected],
        presentation_id=f"urn:uuid:{uuid.uuid4()}",
        valid_from=now,
        valid_until=now + PRESENTATION_TTL,
    )
    token = sign_vp_jwt(vp, identity.key, kid=identity.kid, issued_at=now, expires_at=now + PRESENTATION_TTL)
    return {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage", "presentation": [token]}
