"""JsonWebSignature2020 (Tagus 22.10 credentials) in both flavours, signing and verifying (``gaiax.md`` §5.1).

* **Gaia-X flavour** (the compliance service, the wizard, the deltaDAO signer): the detached RFC 7797 JWS
  ``{"alg":…,"b64":false,"crit":["b64"]}`` signs the ASCII hex SHA-256 of URDNA2015(credential without ``proof``);
  proof options are not signed.
* **Specification flavour** (W3C-CCG lds-jws2020, danubetech, the classic XFSC catalogue): the payload is the
  64 raw bytes SHA-256(URDNA2015(proof options)) || SHA-256(URDNA2015(credential without proof)), where the proof
  options are the proof without ``jws`` under the credentials v1 + jws-2020 contexts (or the document's context).

Verification tries the Gaia-X flavour first, like the Tagus compliance service, and reports which one matched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from self_descriptions.canonical import DEFAULT_LIMITS, Limits, canonicalize, sha256_hex
from self_descriptions.keys import KeyPair
from self_descriptions.loader import DocumentLoader
from self_descriptions.proofs.jose import JoseError, parse_compact, sign_compact, verify_signature

Flavour = Literal["gaia-x", "specification"]
PROOF_TYPE = "JsonWebSignature2020"
CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
JWS_2020_V1 = "https://w3id.org/security/suites/jws-2020/v1"
PROOF_OPTIONS_CONTEXT = [CREDENTIALS_V1, JWS_2020_V1]


def sign_jws2020(
    credential: Mapping[str, Any],
    key: KeyPair,
    *,
    verification_method: str,
    created: str,
    flavour: Flavour = "gaia-x",
    proof_purpose: str = "assertionMethod",
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """``credential`` with a JsonWebSignature2020 ``proof`` (``created`` is an ISO 8601 timestamp)."""
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    options = {
        "type": PROOF_TYPE,
        "created": created,
        "proofPurpose": proof_purpose,
        "verificationMethod": verification_method,
    }
    payload = _payload(unsigned, options, flavour, PROOF_OPTIONS_CONTEXT, loader, limits)
    header = {"alg": key.alg, "b64": False, "crit": ["b64"]}
    return {**unsigned, "proof": {**options, "jws": sign_compact(header, payload, key)}}


def proof_of(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    """The single JsonWebSignature2020 proof of ``credential`` (proof sets/chains are not used by Gaia-X)."""
    proof = credential.get("proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise JoseError("expected exactly one proof", code="malformed-proof")
        proof = proof[0]
    if not isinstance(proof, Mapping):
        raise JoseError("the credential has no proof", code="missing-proof")
    if proof.get("type") != PROOF_TYPE:
        raise JoseError(f"unsupported proof type {proof.get('type')!r}; expected {PROOF_TYPE}", code="malformed-proof")
    if not isinstance(proof.get("jws"), str) or not isinstance(proof.get("verificationMethod"), str):
        raise JoseError("the proof needs string jws and verificationMethod members", code="malformed-proof")
    return proof


def verify_jws2020(
    credential: Mapping[str, Any],
    public_jwk: Mapping[str, Any],
    *,
    flavours: tuple[Flavour, ...] = ("gaia-x", "specification"),
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Flavour:
    """Verify the proof of ``credential`` with ``public_jwk``; returns the flavour that matched or raises."""
    proof = proof_of(credential)
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "jws"}
    doc_context = credential.get("@context")
    reasons: list[str] = []
    # canonical form of the document is shared by both flavours: compute it once
    document_nquads = canonicalize(unsigned, loader=loader, limits=limits)
    for flavour in flavours:
        contexts: list[Any] = [PROOF_OPTIONS_CONTEXT]
        if flavour == "specification" and doc_context is not None and doc_context != PROOF_OPTIONS_CONTEXT:
            contexts.append(doc_context)
        for context in contexts:
            payload = _payload_from(document_nquads, options, flavour, context, loader, limits)
            try:
                jws = parse_compact(str(proof["jws"]), detached_payload=payload)
                if jws.header.get("b64") is not False:
                    raise JoseError(
                        "JsonWebSignature2020 uses an unencoded detached payload (b64: false)", code="malformed-proof"
                    )
                verify_signature(jws, public_jwk)
            except JoseError as exc:
                if exc.code not in ("bad-signature",):
                    raise
                reasons.append(flavour)
                continue
            return flavour
    raise JoseError(
        f"the JsonWebSignature2020 proof verifies under none of the flavours tried ({', '.join(flavours)}): the "
        "credential was changed after signing or signed with another key",
        code="bad-signature",
    )


def _payload(
    unsigned: Mapping[str, Any],
    options: Mapping[str, Any],
    flavour: Flavour,
    context: Any,
    loader: DocumentLoader | None,
    limits: Limits,
) -> bytes:
    return _payload_from(
        canonicalize(unsigned, loader=loader, limits=limits), options, flavour, context, loader, limits
    )


def _payload_from(
    document_nquads: str,
    options: Mapping[str, Any],
    flavour: Flavour,
    context: Any,
    loader: DocumentLoader | None,
    limits: Limits,
) -> bytes:
    if flavour == "gaia-x":
        return sha256_hex(document_nquads).encode("ascii")
    options_nquads = canonicalize({"@context": context, **options}, loader=loader, limits=limits)
    return (
        hashlib.sha256(options_nquads.encode("utf-8")).digest()
        + hashlib.sha256(document_nquads.encode("utf-8")).digest()
    )
