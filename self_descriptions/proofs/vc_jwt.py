"""VC-JWT and VP-JWT per W3C VC-JOSE-COSE §3.1 (Loire credentials; ``gaiax.md`` §5.3).

The payload is the unsecured VCDM 2.0 credential itself (no ``vc``/``vp`` wrapper claim). The payload bytes are the
RFC 8785 canonical JSON of the credential, so signing is reproducible. The protected header carries ``alg``,
``typ``, ``cty``, ``iss`` and ``kid``; ``iss`` is also put in the payload because the XFSC catalogue requires the
claim. :class:`HeaderProfile` switches to the variants real clearing houses emit: ICAM 24.07 (``vc+ld+json+jwt``),
the 2025 notaries (``vc+ld+jwt``, ``iat``/``exp`` in milliseconds in the header).

A VP-JWT embeds each VC-JWT as an ``EnvelopedVerifiableCredential`` whose ``id`` is a ``data:`` URL
(VC-JOSE-COSE §3.3, VCDM 2.0 §4.13).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from self_descriptions.canonical import jcs
from self_descriptions.keys import KeyPair
from self_descriptions.proofs.jose import JoseError, sign_compact

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
#: ``data:`` URL media types accepted for enveloped credentials (W3C, ICAM 24.07, GXDCH notary 2025).
ENVELOPED_VC_MEDIA_TYPES = ("application/vc+jwt", "application/vc+ld+json+jwt", "application/vc+ld+jwt")
ENVELOPED_VP_MEDIA_TYPES = ("application/vp+jwt", "application/vp+ld+json+jwt", "application/vp+ld+jwt")
#: ``typ`` values accepted on credentials and presentations (``gaiax.md`` §5.3, §12.12).
VC_TYPS = frozenset({"vc+jwt", "vc+ld+json+jwt", "vc+ld+jwt", "JWT", "jwt"})
VP_TYPS = frozenset({"vp+jwt", "vp+ld+json+jwt", "vp+ld+jwt", "JWT", "jwt"})


@dataclass(frozen=True)
class HeaderProfile:
    """How the JOSE header is written: ``typ``/``cty`` spellings and where/in which unit ``iat``/``exp`` go."""

    name: str
    vc_typ: str
    vc_cty: str
    vp_typ: str
    vp_cty: str
    times_in_header: bool = False
    milliseconds: bool = False


#: W3C VC-JOSE-COSE (final): the default this project emits.
W3C = HeaderProfile("w3c", "vc+jwt", "vc", "vp+jwt", "vp")
#: ICAM 24.07 / GXDCH 2024 (compliance engine 2.x): ms times in the header.
ICAM_2407 = HeaderProfile(
    "icam-24.07",
    "vc+ld+json+jwt",
    "vc+ld+json",
    "vp+ld+json+jwt",
    "vp+ld+json",
    times_in_header=True,
    milliseconds=True,
)
#: GXDCH notary v2 (2025): ``vc+ld+jwt``, ms times in the header.
GXDCH_2025 = HeaderProfile(
    "gxdch-2025", "vc+ld+jwt", "vc+ld", "vp+ld+jwt", "vp+ld", times_in_header=True, milliseconds=True
)
PROFILES = {p.name: p for p in (W3C, ICAM_2407, GXDCH_2025)}


def sign_vc_jwt(
    credential: Mapping[str, Any],
    key: KeyPair,
    *,
    kid: str,
    profile: HeaderProfile = W3C,
    issued_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Sign a VCDM 2.0 credential as a VC-JWT; ``issuer`` must be the DID of ``kid``."""
    return _sign(
        credential,
        key,
        kid=kid,
        typ=profile.vc_typ,
        cty=profile.vc_cty,
        profile=profile,
        issued_at=issued_at,
        expires_at=expires_at,
        issuer_field="issuer",
    )


def sign_vp_jwt(
    presentation: Mapping[str, Any],
    key: KeyPair,
    *,
    kid: str,
    profile: HeaderProfile = W3C,
    issued_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Sign a presentation as a VP-JWT; the holder (``holder`` or ``issuer``) must be the DID of ``kid``."""
    field = "holder" if "holder" in presentation else "issuer"
    return _sign(
        presentation,
        key,
        kid=kid,
        typ=profile.vp_typ,
        cty=profile.vp_cty,
        profile=profile,
        issued_at=issued_at,
        expires_at=expires_at,
        issuer_field=field,
    )


def _sign(
    document: Mapping[str, Any],
    key: KeyPair,
    *,
    kid: str,
    typ: str,
    cty: str,
    profile: HeaderProfile,
    issued_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    issuer_field: str,
) -> str:
    did = kid.split("#", 1)[0]
    issuer = document.get(issuer_field)
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_id is not None and issuer_id != did:
        raise JoseError(
            f"{issuer_field} {issuer_id!r} is not the DID of the signing key {kid!r}", code="issuer-mismatch"
        )
    if "vc" in document or "vp" in document:
        raise JoseError("VC-JOSE-COSE payloads are the credential itself, without a vc/vp wrapper claim")
    payload = dict(document)
    payload["iss"] = did
    header: dict[str, Any] = {"alg": key.alg, "typ": typ, "cty": cty, "iss": did, "kid": kid}
    times = {"iat": issued_at, "exp": expires_at}
    for claim, value in times.items():
        if value is None:
            continue
        number = int(value.timestamp() * 1000) if profile.milliseconds else int(value.timestamp())
        (header if profile.times_in_header else payload)[claim] = number
    return sign_compact(header, jcs(payload), key)


def data_url(token: str, media_type: str = "application/vc+jwt") -> str:
    return f"data:{media_type},{token}"


def enveloped_credential(token: str, media_type: str = "application/vc+jwt") -> dict[str, Any]:
    """An ``EnvelopedVerifiableCredential`` entry for a VP (VCDM 2.0 §4.13)."""
    return {"@context": CREDENTIALS_V2, "type": "EnvelopedVerifiableCredential", "id": data_url(token, media_type)}


def build_presentation(
    holder: str,
    credentials: Sequence[str],
    *,
    presentation_id: str | None = None,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    media_type: str = "application/vc+jwt",
) -> dict[str, Any]:
    """An unsigned VCDM 2.0 presentation of enveloped VC-JWTs, as GXDCH expects it (``gaiax.md`` §3.4)."""
    vp: dict[str, Any] = {"@context": [CREDENTIALS_V2], "type": "VerifiablePresentation"}
    if presentation_id is not None:
        vp["id"] = presentation_id
    vp["issuer"] = holder
    if valid_from is not None:
        vp["validFrom"] = format_datetime(valid_from)
    if valid_until is not None:
        vp["validUntil"] = format_datetime(valid_until)
    vp["verifiableCredential"] = [enveloped_credential(t, media_type) for t in credentials]
    return vp


def parse_data_url(value: str) -> tuple[str, str]:
    """``data:<media type>,<token>`` -> (media type, token); only the JWT media types are accepted."""
    if not value.startswith("data:") or "," not in value:
        raise JoseError("not a data: URL", code="malformed-envelope")
    head, token = value[5:].split(",", 1)
    media_type = head.split(";", 1)[0].strip().lower()
    if ";base64" in head.lower():
        raise JoseError("base64 data: URLs are not used for JWTs", code="malformed-envelope")
    if media_type not in ENVELOPED_VC_MEDIA_TYPES + ENVELOPED_VP_MEDIA_TYPES:
        raise JoseError(f"unsupported enveloped media type {media_type!r}", code="malformed-envelope")
    return media_type, token


def enveloped_tokens(presentation: Mapping[str, Any]) -> list[str]:
    """The VC-JWTs enveloped in a presentation's ``verifiableCredential`` entries."""
    entries = presentation.get("verifiableCredential", [])
    if isinstance(entries, Mapping | str):
        entries = [entries]
    if not isinstance(entries, list):
        raise JoseError("verifiableCredential must be a list", code="malformed-envelope")
    tokens: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            tokens.append(parse_data_url(entry)[1])
        elif isinstance(entry, Mapping) and isinstance(entry.get("id"), str) and entry["id"].startswith("data:"):
            tokens.append(parse_data_url(entry["id"])[1])
        else:
            raise JoseError("a presentation entry is not an enveloped VC-JWT (data: URL)", code="malformed-envelope")
    return tokens


def format_datetime(value: dt.datetime) -> str:
    """XML Schema dateTime in UTC with ``Z`` (VCDM 2.0 §4.9), seconds precision."""
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
