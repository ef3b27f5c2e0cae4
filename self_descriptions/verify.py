"""Verification of credentials and presentations from the field, as rigorously as GXDCH (``gaiax.md`` §5, §7.1, §12).

Two entry points per input kind:

* :func:`assess_credential` / :func:`assess_presentation` never raise for a bad credential: they return a
  :class:`CredentialAssessment` per credential with every dimension (signature, trust, validity) and the errors,
  which is what a report for a federation operator needs (``gxc sd verify --json``, the catalogue).
* :func:`verify_credential` / :func:`verify_presentation` raise :class:`VerificationError` (with a stable ``code``
  and the assessment attached) on the first failed dimension and return the assessment on success (house rule 3).

With a status list fetcher (``status_lists``), each credential whose proof verified also gets its W3C Bitstring
Status List v1.0 status (§3.2, :mod:`self_descriptions.status_list`): ``revoked`` and ``suspended`` are failures
with those codes, a status that cannot be established is ``unverifiable``; without a fetcher it is ``not-checked``.

Checks, in order: JOSE header (``alg: none``, embedded keys, ``crit``), no ``vc``/``vp`` wrapper claims, issuer ==
``iss`` == DID of ``kid``, key resolution by ``kid`` in ``assertionMethod`` through the injected
:class:`~self_descriptions.did.DidResolver`, JWK ``alg``/type == header ``alg``, the signature (VC-JWT, or
JsonWebSignature2020 in the Gaia-X flavour first, then the specification flavour), validity at ``now``
(``validFrom``/``validUntil``, ``issuanceDate``/``expirationDate``, ``nbf``/``iat``/``exp`` in s or ms), and the
``x5u`` chain to the trust anchors. A credential whose key cannot be resolved is ``unverifiable``, never valid.

JSON-LD credentials are untrusted input to RDFC-1.0, whose work a crafted document can make explode (RDFC-1.0 §4.8,
§7.1 dataset poisoning), so their canonicalization runs in :attr:`VerificationContext.canonicalizer`: by default the
process-wide :func:`~self_descriptions.canonical_worker.default_pool` (worker processes, 5 s per call), whose
timeout is recorded as the credential's ``canonicalization-timeout`` error like any other failed check.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cryptography import x509

from self_descriptions.canonical import DEFAULT_LIMITS, Limits, check_limits, credential_digests
from self_descriptions.canonical_worker import Canonicalizer, default_pool
from self_descriptions.did import DidError, DidResolver
from self_descriptions.errors import CertificateError, SelfDescriptionError
from self_descriptions.loader import DocumentLoader
from self_descriptions.proofs.jose import (
    CompactJws,
    JoseError,
    decode_json_payload,
    parse_compact,
    verify_signature,
)
from self_descriptions.proofs.jws2020 import Flavour, proof_of, verify_jws2020_async
from self_descriptions.proofs.vc_jwt import enveloped_tokens, parse_data_url
from self_descriptions.trust import ChainValidator, X5uFetcher

if TYPE_CHECKING:
    from self_descriptions.status_list import StatusListFetcher

Format = Literal["vc-jwt", "jsonld"]
SignatureState = Literal["valid", "invalid", "unverifiable"]
TrustState = Literal["valid", "invalid", "not-checked"]
ValidityState = Literal["valid", "expired", "not-yet-valid", "invalid"]
StatusState = Literal["valid", "revoked", "suspended", "not-checked", "unverifiable"]

#: Largest number of credentials accepted in one presentation.
MAX_CREDENTIALS = 200
#: ``iat``/``exp``/``nbf`` above this are milliseconds (GXDCH notaries, ``gaiax.md`` §3.2): 10^11 s is year 5138.
MILLISECONDS_THRESHOLD = 10**11


class VerificationError(SelfDescriptionError):
    """A credential or presentation failed verification; ``assessment`` holds every dimension and error."""

    code = "verification-failed"

    def __init__(self, message: str, *, code: str | None = None, assessment: CredentialAssessment | None = None):
        super().__init__(message, code=code)
        self.assessment = assessment


@dataclass(frozen=True)
class Problem:
    """One failed check: a stable code and a message that says what is wrong."""

    code: str
    message: str


@dataclass
class CredentialAssessment:
    """Everything learnt about one credential (or presentation)."""

    format: Format
    document: Mapping[str, Any]
    signature: SignatureState = "unverifiable"
    trust: TrustState = "not-checked"
    validity: ValidityState = "valid"
    status: StatusState = "not-checked"
    issuer: str | None = None
    kid: str | None = None
    alg: str | None = None
    flavour: Flavour | None = None
    anchor: str | None = None
    header: Mapping[str, Any] | None = None
    raw_payload: bytes | None = None
    token: str | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    errors: list[Problem] = field(default_factory=list)

    @property
    def id(self) -> str | None:
        value = self.document.get("id", self.document.get("@id"))
        return value if isinstance(value, str) else None

    @property
    def types(self) -> list[str]:
        """Credential types plus ``credentialSubject`` types (``VerifiableCredential``, ``gx:LegalPerson``, …)."""
        out = _strings(self.document.get("type", self.document.get("@type")))
        for subject in _subjects(self.document):
            for t in _strings(subject.get("type", subject.get("@type"))):
                if t not in out:
                    out.append(t)
        return out

    @property
    def ok(self) -> bool:
        return self.signature == "valid" and self.trust != "invalid" and self.validity == "valid" and not self.errors

    def digests(self) -> dict[str, str]:
        """All conventional digests of this credential (compliance binding, ``canonical.credential_digests``)."""
        return credential_digests(self.document, self.raw_payload)

    def fail(self, code: str, message: str) -> None:
        self.errors.append(Problem(code, message))


@dataclass
class PresentationAssessment:
    """A presentation's own assessment (``None`` for an unsigned Tagus envelope) and one per credential."""

    presentation: CredentialAssessment | None
    credentials: list[CredentialAssessment]
    errors: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        own = self.presentation is None or self.presentation.ok
        return own and not self.errors and all(c.ok for c in self.credentials)


@dataclass(frozen=True)
class VerificationContext:
    """What verification needs besides the input: resolver, trust, time, the offline JSON-LD loader and where
    untrusted JSON-LD is canonicalized (``None``: the process-wide worker pool, :func:`default_pool`)."""

    resolver: DidResolver
    chains: ChainValidator | None
    now: dt.datetime
    status_lists: StatusListFetcher | None = None
    loader: DocumentLoader | None = None
    limits: Limits = DEFAULT_LIMITS
    leeway: dt.timedelta = dt.timedelta(0)
    canonicalizer: Canonicalizer | None = None

    @property
    def active_canonicalizer(self) -> Canonicalizer:
        """The canonicalizer to use for this verification."""
        return self.canonicalizer if self.canonicalizer is not None else default_pool()


def make_context(
    *,
    resolver: DidResolver,
    trust_anchors: Sequence[x509.Certificate] | None,
    now: dt.datetime,
    x5u_fetcher: X5uFetcher | None = None,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    chains: ChainValidator | None = None,
    leeway: dt.timedelta = dt.timedelta(0),
    canonicalizer: Canonicalizer | None = None,
    status_lists: StatusListFetcher | None = None,
) -> VerificationContext:
    """``trust_anchors=None`` disables the x5u chain check (trust ``not-checked``); ``leeway`` tolerates clock skew
    between issuer and verifier on validity bounds (VCDM 2.0 leaves it to the verifier; JWT practice is <= 60 s);
    ``canonicalizer`` is where JSON-LD credentials are canonicalized (None: :func:`default_pool`); ``status_lists``
    dereferences Bitstring Status List v1.0 lists (§3.2 step 4; None: status ``not-checked``)."""
    if chains is None and trust_anchors is not None:
        chains = ChainValidator(trust_anchors, x5u_fetcher)
    return VerificationContext(
        resolver=resolver,
        chains=chains,
        now=now,
        status_lists=status_lists,
        loader=loader,
        limits=limits,
        leeway=leeway,
        canonicalizer=canonicalizer,
    )


# --- entry points -------------------------------------------------------------------------------------------


async def verify_credential(
    credential: str | Mapping[str, Any],
    *,
    resolver: DidResolver,
    trust_anchors: Sequence[x509.Certificate] | None,
    now: dt.datetime,
    status_lists: StatusListFetcher | None = None,
    x5u_fetcher: X5uFetcher | None = None,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    canonicalizer: Canonicalizer | None = None,
) -> CredentialAssessment:
    """Verify one VC-JWT (compact or ``data:`` URL) or JSON-LD VC with JsonWebSignature2020; raise on failure.

    With ``status_lists``, a revoked or suspended credential fails (code ``revoked`` / ``suspended``)."""
    ctx = make_context(
        resolver=resolver,
        trust_anchors=trust_anchors,
        now=now,
        x5u_fetcher=x5u_fetcher,
        loader=loader,
        limits=limits,
        canonicalizer=canonicalizer,
        status_lists=status_lists,
    )
    result = await assess_credential(credential, ctx)
    _raise_if_failed(result, "credential")
    return result


async def verify_presentation(
    presentation: str | Mapping[str, Any],
    *,
    resolver: DidResolver,
    trust_anchors: Sequence[x509.Certificate] | None,
    now: dt.datetime,
    status_lists: StatusListFetcher | None = None,
    x5u_fetcher: X5uFetcher | None = None,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    canonicalizer: Canonicalizer | None = None,
) -> PresentationAssessment:
    """Verify a VP-JWT (with enveloped VC-JWTs) or a JSON-LD VP (Tagus); raise on the first failure.

    With ``status_lists``, a revoked or suspended credential fails (code ``revoked`` / ``suspended``)."""
    ctx = make_context(
        resolver=resolver,
        trust_anchors=trust_anchors,
        now=now,
        x5u_fetcher=x5u_fetcher,
        loader=loader,
        limits=limits,
        canonicalizer=canonicalizer,
        status_lists=status_lists,
    )
    result = await assess_presentation(presentation, ctx)
    for problem in result.errors:
        raise VerificationError(problem.message, code=problem.code)
    if result.presentation is not None:
        _raise_if_failed(result.presentation, "presentation")
    for index, credential in enumerate(result.credentials):
        _raise_if_failed(credential, f"credential {index} ({credential.id or 'no id'})")
    return result


def _raise_if_failed(result: CredentialAssessment, what: str) -> None:
    if result.ok:
        return
    first = result.errors[0] if result.errors else Problem("verification-failed", "verification failed")
    raise VerificationError(f"{what}: {first.message}", code=first.code, assessment=result)


# --- assessment ---------------------------------------------------------------------------------------------


def parse_input(value: str | bytes | Mapping[str, Any]) -> str | Mapping[str, Any]:
    """Normalise an input: JSON text -> object, ``data:`` URL or compact JWT -> token string; raise if neither."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VerificationError("input is not UTF-8 text", code="malformed-input") from exc
    if isinstance(value, Mapping):
        return value
    text = value.strip()
    if text.startswith("{"):
        if len(text) > DEFAULT_LIMITS.max_bytes * 2:
            raise VerificationError("input JSON is too large", code="limit-exceeded")
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise VerificationError(f"input is not valid JSON: {exc}", code="malformed-json") from exc
        if not isinstance(parsed, dict):
            raise VerificationError("input JSON is not an object", code="malformed-json")
        return parsed
    if text.startswith('"') and text.endswith('"'):
        try:
            text = str(json.loads(text))
        except ValueError as exc:
            raise VerificationError("input is not valid JSON", code="malformed-json") from exc
    if text.startswith("data:"):
        try:
            return parse_data_url(text)[1]
        except JoseError as exc:
            raise VerificationError(exc.message, code=exc.code) from exc
    if text.count(".") == 2 and " " not in text:
        return text
    raise VerificationError("input is neither JSON-LD, a compact JWT nor a data: URL", code="malformed-input")


async def assess_credential(
    credential: str | bytes | Mapping[str, Any], ctx: VerificationContext
) -> CredentialAssessment:
    """Assess one credential; problems are recorded in the result, never raised."""
    try:
        value = parse_input(credential)
    except VerificationError as exc:
        result = CredentialAssessment(format="vc-jwt", document={})
        result.fail(exc.code, exc.message)
        result.signature = "invalid"
        return result
    if isinstance(value, Mapping):
        if value.get("type") == "EnvelopedVerifiableCredential" and isinstance(value.get("id"), str):
            return await _assess_jwt(_token_of(value["id"]), ctx, kind="credential")
        return await _assess_jsonld(value, ctx)
    return await _assess_jwt(value, ctx, kind="credential")


async def assess_presentation(
    presentation: str | bytes | Mapping[str, Any], ctx: VerificationContext
) -> PresentationAssessment:
    """Assess a presentation and each credential in it."""
    try:
        value = parse_input(presentation)
    except VerificationError as exc:
        return PresentationAssessment(None, [], [Problem(exc.code, exc.message)])
    if isinstance(value, str) and not _looks_like_presentation(value):
        return PresentationAssessment(None, [await _assess_jwt(value, ctx, kind="credential")])
    if isinstance(value, str):
        own = await _assess_jwt(value, ctx, kind="presentation")
        if not own.document:
            return PresentationAssessment(own, [])
        try:
            tokens = enveloped_tokens(own.document)
        except JoseError as exc:
            return PresentationAssessment(own, [], [Problem(exc.code, exc.message)])
        if len(tokens) > MAX_CREDENTIALS:
            return PresentationAssessment(
                own, [], [Problem("limit-exceeded", f"more than {MAX_CREDENTIALS} credentials")]
            )
        return PresentationAssessment(own, [await _assess_jwt(t, ctx, kind="credential") for t in tokens])
    if not _has_type(value, "VerifiablePresentation"):
        # a single credential given where a presentation was expected: assess it alone
        return PresentationAssessment(None, [await assess_credential(value, ctx)])
    entries = value.get("verifiableCredential", [])
    if isinstance(entries, Mapping | str):
        entries = [entries]
    if not isinstance(entries, list):
        return PresentationAssessment(
            None, [], [Problem("malformed-presentation", "verifiableCredential must be a list")]
        )
    if len(entries) > MAX_CREDENTIALS:
        return PresentationAssessment(None, [], [Problem("limit-exceeded", f"more than {MAX_CREDENTIALS} credentials")])
    holder_result = await _assess_jsonld(value, ctx, issuer_field="holder") if "proof" in value else None
    credentials = [await assess_credential(entry, ctx) for entry in entries]
    return PresentationAssessment(holder_result, credentials)


def _looks_like_presentation(token: str) -> bool:
    """A JWT is a presentation when its typ says so or its payload is typed VerifiablePresentation."""
    try:
        jws = parse_compact(token)
        typ = str(jws.header.get("typ", ""))
        if typ.startswith("vp"):
            return True
        return _has_type(decode_json_payload(jws), "VerifiablePresentation")
    except SelfDescriptionError:
        return False


def _token_of(data_url: str) -> str:
    try:
        return parse_data_url(data_url)[1]
    except JoseError:
        return data_url  # _assess_jwt reports it as malformed


async def _assess_jwt(
    token: str, ctx: VerificationContext, *, kind: Literal["credential", "presentation"]
) -> CredentialAssessment:
    result = CredentialAssessment(format="vc-jwt", document={}, token=token)
    try:
        jws = parse_compact(token)
        payload = decode_json_payload(jws)
        check_limits(payload, ctx.limits)
    except SelfDescriptionError as exc:
        result.signature = "invalid"
        result.fail(exc.code, exc.message)
        return result
    result.document = payload
    result.header = jws.header
    result.raw_payload = jws.payload
    result.alg = jws.alg
    if "vc" in payload or "vp" in payload:
        result.fail("wrapper-claim", "Loire VC-JWT payloads must be the credential itself, not wrapped in vc/vp")
    _check_typ(jws, kind, result)
    issuer = _issuer_of(payload, "holder" if kind == "presentation" else "issuer")
    iss = jws.header.get("iss", payload.get("iss", issuer))
    result.issuer = iss if isinstance(iss, str) else issuer
    if payload.get("iss") is not None and payload.get("iss") != iss:
        result.fail("issuer-mismatch", f"payload iss {payload.get('iss')!r} differs from header iss {iss!r}")
    if issuer is not None and issuer != iss:
        result.fail(
            "issuer-mismatch", f"{'holder' if kind == 'presentation' else 'issuer'} {issuer!r} is not iss {iss!r}"
        )
    kid = jws.header.get("kid")
    if not isinstance(kid, str) or not isinstance(result.issuer, str):
        result.signature = "unverifiable"
        result.fail("no-key-id", "the JWS header has no kid (and iss); the key cannot be located")
        _check_validity(result, payload, jws.header, ctx)
        return result
    if kid.startswith("#"):
        kid = result.issuer + kid
    result.kid = kid
    if kid.split("#", 1)[0] != result.issuer:
        result.fail("issuer-mismatch", f"kid {kid!r} does not belong to the issuer {result.issuer!r}")

    async def check(jwk: Mapping[str, Any]) -> None:
        verify_signature(jws, jwk)

    await _check_key_and_signature(result, kid, check, ctx)
    _check_validity(result, payload, jws.header, ctx)
    if kind == "credential":
        await _check_status(result, ctx)
    return result


async def _assess_jsonld(
    document: Mapping[str, Any], ctx: VerificationContext, *, issuer_field: str = "issuer"
) -> CredentialAssessment:
    result = CredentialAssessment(format="jsonld", document=document)
    try:
        check_limits(document, ctx.limits)
        proof = proof_of(document)
    except SelfDescriptionError as exc:
        result.signature = "invalid" if exc.code != "missing-proof" else "unverifiable"
        result.fail(exc.code, exc.message)
        _check_validity(result, document, {}, ctx)
        return result
    vm = str(proof["verificationMethod"])
    if vm.startswith("#"):
        vm = (_issuer_of(document, issuer_field) or "") + vm
    result.kid = vm
    result.issuer = _issuer_of(document, issuer_field)
    did = vm.split("#", 1)[0]
    if result.issuer is not None and result.issuer != did:
        result.fail("issuer-mismatch", f"{issuer_field} {result.issuer!r} does not control the signing key {vm!r}")
    if result.issuer is None:
        result.issuer = did
    try:
        result.alg = str(parse_compact(str(proof["jws"]), detached_payload=b"").header.get("alg"))
    except JoseError as exc:
        result.signature = "invalid"
        result.fail(exc.code, exc.message)
        return result

    async def check(jwk: Mapping[str, Any]) -> None:
        result.flavour = await verify_jws2020_async(
            document, jwk, canonicalizer=ctx.active_canonicalizer, loader=ctx.loader, limits=ctx.limits
        )

    await _check_key_and_signature(result, vm, check, ctx)
    _check_validity(result, document, {}, ctx)
    if issuer_field == "issuer":
        await _check_status(result, ctx)
    return result


async def _check_key_and_signature(
    result: CredentialAssessment,
    kid: str,
    check: Callable[[Mapping[str, Any]], Awaitable[None]],
    ctx: VerificationContext,
) -> None:
    try:
        document = await ctx.resolver.resolve(kid.split("#", 1)[0])
        jwk = document.public_jwk(kid, relationship="assertionMethod")
    except DidError as exc:
        result.signature = "unverifiable"
        result.fail("unverifiable", f"the issuer's key cannot be resolved: {exc.message}")
        return
    try:
        await check(jwk)
    except SelfDescriptionError as exc:
        result.signature = "invalid"
        result.fail(exc.code, exc.message)
        return
    result.signature = "valid"
    if ctx.chains is None:
        result.trust = "not-checked"
        return
    try:
        result.anchor = await ctx.chains.validate(jwk, now=ctx.now)
    except CertificateError as exc:
        result.trust = "invalid"
        result.fail("untrusted" if exc.code == "certificate-error" else exc.code, exc.message)
        return
    except SelfDescriptionError as exc:
        result.trust = "invalid"
        result.fail(exc.code, exc.message)
        return
    result.trust = "valid"


async def _check_status(result: CredentialAssessment, ctx: VerificationContext) -> None:
    """Bitstring Status List v1.0 §3.2 (imported here: ``status_list`` verifies status lists with this module)."""
    from self_descriptions.status_list import assess_status

    await assess_status(result, ctx)


def _check_typ(jws: CompactJws, kind: str, result: CredentialAssessment) -> None:
    from self_descriptions.proofs.vc_jwt import VC_TYPS, VP_TYPS

    typ = jws.header.get("typ")
    allowed = VP_TYPS if kind == "presentation" else VC_TYPS
    if typ is not None and typ not in allowed:
        result.fail("bad-typ", f"JOSE typ {typ!r} is not a {kind} type ({', '.join(sorted(allowed))})")


def _check_validity(
    result: CredentialAssessment, document: Mapping[str, Any], header: Mapping[str, Any], ctx: VerificationContext
) -> None:
    now = ctx.now
    starts: list[tuple[str, dt.datetime]] = []
    ends: list[tuple[str, dt.datetime]] = []
    try:
        for name in ("validFrom", "issuanceDate"):
            if name in document:
                starts.append((name, parse_datetime(document[name], name)))
        for name in ("validUntil", "expirationDate"):
            if name in document:
                ends.append((name, parse_datetime(document[name], name)))
        for source in (header, document):
            for claim in ("nbf", "iat"):
                if claim in source:
                    starts.append((claim, parse_numeric_date(source[claim], claim)))
            if "exp" in source:
                ends.append(("exp", parse_numeric_date(source["exp"], "exp")))
    except VerificationError as exc:
        result.validity = "invalid"
        result.fail(exc.code, exc.message)
        return
    result.valid_from = max((t for _, t in starts), default=None)
    result.valid_until = min((t for _, t in ends), default=None)
    for name, start in starts:
        if now + ctx.leeway < start:
            result.validity = "not-yet-valid"
            result.fail("not-yet-valid", f"{name} {start.isoformat()} is after the verification time {now.isoformat()}")
            return
    for name, end in ends:
        if now - ctx.leeway >= end:
            result.validity = "expired"
            result.fail("expired", f"{name} {end.isoformat()} is not after the verification time {now.isoformat()}")
            return


def parse_datetime(value: Any, name: str) -> dt.datetime:
    """An XML Schema dateTime (VCDM ``validFrom``/``issuanceDate``); a missing zone means UTC."""
    if not isinstance(value, str):
        raise VerificationError(f"{name} is not a string", code="bad-datetime")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise VerificationError(f"{name} {value!r} is not an ISO 8601 date-time", code="bad-datetime") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def parse_numeric_date(value: Any, name: str) -> dt.datetime:
    """JWT NumericDate, seconds or (GXDCH notaries) milliseconds: values above 10^11 are milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VerificationError(f"{name} is not a number", code="bad-datetime")
    seconds = value / 1000 if abs(value) > MILLISECONDS_THRESHOLD else value
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise VerificationError(f"{name} {value!r} is out of range", code="bad-datetime") from exc


def _issuer_of(document: Mapping[str, Any], field_name: str) -> str | None:
    value = document.get(field_name)
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _has_type(document: Mapping[str, Any], name: str) -> bool:
    return name in _strings(document.get("type", document.get("@type")))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _subjects(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subject = document.get("credentialSubject")
    if isinstance(subject, Mapping):
        return [subject]
    if isinstance(subject, list):
        return [s for s in subject if isinstance(s, Mapping)]
    return []
