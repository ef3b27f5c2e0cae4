"""JsonWebSignature2020 (Tagus 22.10 credentials) in both flavours, signing and verifying (``gaiax.md`` §5.1).

* **Gaia-X flavour** (the compliance service, the wizard, the deltaDAO signer): the detached RFC 7797 JWS
  ``{"alg":…,"b64":false,"crit":["b64"]}`` signs the ASCII hex SHA-256 of URDNA2015(credential without ``proof``);
  proof options are not signed.
* **Specification flavour** (W3C-CCG lds-jws2020, danubetech, the classic XFSC catalogue): the payload is the
  64 raw bytes SHA-256(URDNA2015(proof options)) || SHA-256(URDNA2015(credential without proof)), where the proof
  options are the proof without ``jws`` under the credentials v1 + jws-2020 contexts (or the document's context).

Verification tries the Gaia-X flavour first, like the Tagus compliance service, and reports which one matched.
The steps are written once, sans-IO (:func:`_verification` yields each document to canonicalize and receives its
N-Quads), and driven either in process (:func:`verify_jws2020`) or through an awaitable
:class:`~self_descriptions.canonical_worker.Canonicalizer` (:func:`verify_jws2020_async`): a credential from outside
is untrusted input whose RDFC-1.0 canonicalization must run where it can be timed out (RDFC-1.0 §7.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Mapping
from typing import Any, Literal, cast

from self_descriptions.canonical import DEFAULT_LIMITS, Limits, canonicalize, sha256_hex
from self_descriptions.canonical_worker import Canonicalizer
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
    canonicalizer: Canonicalizer | None = None,
) -> Flavour:
    """Verify the proof of ``credential`` with ``public_jwk``; returns the flavour that matched or raises.

    Canonicalizes with ``canonicalizer`` (e.g. a :class:`~self_descriptions.canonical_worker.WorkerPool`), or in
    process when it is None (limits only: for credentials that are not from outside)."""
    steps = _verification(credential, public_jwk, flavours)
    try:
        document = next(steps)
        while True:
            if canonicalizer is None:
                nquads = canonicalize(document, loader=loader, limits=limits)
            else:
                nquads = canonicalizer.canonicalize(document, loader=loader, limits=limits)
            document = steps.send(nquads)
    except StopIteration as done:
        return cast(Flavour, done.value)


async def verify_jws2020_async(
    credential: Mapping[str, Any],
    public_jwk: Mapping[str, Any],
    *,
    canonicalizer: Canonicalizer,
    flavours: tuple[Flavour, ...] = ("gaia-x", "specification"),
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Flavour:
    """:func:`verify_jws2020` awaiting each canonicalization (the event loop stays free while a worker works)."""
    steps = _verification(credential, public_jwk, flavours)
    try:
        document = next(steps)
        while True:
            document = steps.send(await canonicalizer.canonicalize_async(document, loader=loader, limits=limits))
    except StopIteration as done:
        return cast(Flavour, done.value)


def _verification(
    credential: Mapping[str, Any], public_jwk: Mapping[str, Any], flavours: tuple[Flavour, ...]
) -> Generator[dict[str, Any], str, Flavour]:
    """The verification steps; yields each document whose RDFC-1.0 N-Quads it needs (gaiax.md §5.1).

    The credential's canonical form is shared by both flavours and asked for once; the proof options' form only
    when the specification flavour is tried (under the credentials v1 + jws-2020 contexts, then the document's)."""
    proof = proof_of(credential)
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "jws"}
    doc_context = credential.get("@context")
    document_nquads = yield unsigned
    for flavour in flavours:
        contexts: list[Any] = [PROOF_OPTIONS_CONTEXT]
        if flavour == "specification" and doc_context is not None and doc_context != PROOF_OPTIONS_CONTEXT:
            contexts.append(doc_context)
        for context in contexts:
            options_nquads = None if flavour == "gaia-x" else (yield {"@context": context, **options})
            payload = _payload_bytes(flavour, document_nquads, options_nquads)
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
    """The signing input of our own credential (trusted: canonicalized in process)."""
    document_nquads = canonicalize(unsigned, loader=loader, limits=limits)
    options_nquads = (
        None if flavour == "gaia-x" else canonicalize({"@context": context, **options}, loader=loader, limits=limits)
    )
    return _payload_bytes(flavour, document_nquads, options_nquads)


def _payload_bytes(flavour: Flavour, document_nquads: str, options_nquads: str | None) -> bytes:
    if flavour == "gaia-x":
        return sha256_hex(document_nquads).encode("ascii")
    if options_nquads is None:
        raise ValueError("the specification flavour also signs the proof options")
    return (
        hashlib.sha256(options_nquads.encode("utf-8")).digest()
        + hashlib.sha256(document_nquads.encode("utf-8")).digest()
    )
