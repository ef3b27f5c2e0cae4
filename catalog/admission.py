"""The admission pipeline: the full GXDCH compliance check of a participant presentation (``gaiax.md`` §7.1, §12).

:meth:`Admission.assess` runs :func:`self_descriptions.compliance.check_compliance` (VP and every VC signature,
did:web key resolution, ``x5u`` chain to the federation's anchors, validity, SHACL with the accepted shapes
version, registration number from a trusted notary, Gaia-X T&C, offering providers), adds the catalogue's own
checks (compliance credentials inside the VP must come from a trusted compliance service and bind the VP's
credentials by digest, ``gaiax.md`` §6), and computes when admission lapses: the earliest credential
``validUntil``/``exp``, certificate ``notAfter`` of the issuers' x5u chains and compliance-credential expiry.

The verdict never raises for a bad presentation (decisions return, house rule 3). Re-verification of stored
presentations (anchors or shapes changed, federation) passes ``presentation_window=False``: the VP's own
validity bounds replay of a submission and is checked when it is submitted, while every credential inside it must
still be valid at the time of re-verification.

Credential status (W3C Bitstring Status List v1.0, which ICAM 25.11 adopts and catalogues must apply, ``gaiax.md``
§9.3, §12.17): with a ``status_lists`` fetcher every credential of the presentation is checked against its issuer's
status lists (§3.2), so a registration number the notary revoked or a compliance credential the clearing house
suspended fails its ``credential`` check (code ``revoked`` / ``suspended``, naming the list and index). A list that
cannot be retrieved (§3.5 ``STATUS_RETRIEVAL_ERROR``) fails closed here; :attr:`Assessment.status_unknown` tells the
caller that this, and nothing else, is why the verdict failed, so re-verification can treat it as an outage rather
than a revocation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509

from catalog.errors import SubmissionRefused
from catalog.extract import participant_name
from catalog.state import anchor_fingerprints
from self_descriptions.canonical import DEFAULT_LIMITS, Limits, jcs
from self_descriptions.canonical_worker import Canonicalizer
from self_descriptions.certificates import load_pem_certificates
from self_descriptions.compliance import (
    ENGINE_VERSION,
    Check,
    ComplianceVerdict,
    check_compliance,
    is_compliance_credential,
    issue_compliance_credential,
    match_compliance_entries,
)
from self_descriptions.did import DidResolver
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import KeyPair
from self_descriptions.loader import DocumentLoader
from self_descriptions.report import credential_entry
from self_descriptions.status_list import StatusListFetcher, StatusRetrievalError
from self_descriptions.trust import X5uFetcher
from self_descriptions.verify import CredentialAssessment, VerificationError, parse_input

#: Check names that concern the presentation envelope's own validity window (relaxed on re-verification).
_PRESENTATION_WINDOW_CODES = frozenset({"expired", "not-yet-valid"})
#: Codes of failed checks that say a status list could not be retrieved (Bitstring Status List v1.0 §3.2 step 4,
#: §3.5 STATUS_RETRIEVAL_ERROR): the credential's status is unknown, which is not the same as revoked.
STATUS_UNKNOWN_CODES = frozenset({StatusRetrievalError.code})


@dataclass(frozen=True)
class TrustFramework:
    """What the federation trusts; its ``fingerprint`` changes whenever any part changes (triggers re-verification)."""

    anchors: tuple[x509.Certificate, ...]
    notaries: tuple[str, ...]
    compliance_issuers: tuple[str, ...]
    shapes_versions: tuple[str, ...]
    #: Credentials' W3C Bitstring Status List v1.0 status is checked (§3.2). Part of the fingerprint: switching it
    #: on re-verifies what was admitted without it, so a credential revoked before then is noticed at start-up.
    credential_status: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "anchors": anchor_fingerprints(list(self.anchors)),
            "anchorSubjects": sorted(a.subject.rfc4514_string() for a in self.anchors),
            "notaries": sorted(self.notaries),
            "complianceIssuers": sorted(self.compliance_issuers),
            "shapesVersions": list(self.shapes_versions),
            "credentialStatus": "W3C Bitstring Status List v1.0" if self.credential_status else "not-checked",
            "engine": ENGINE_VERSION,
        }

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(jcs(self.as_dict())).hexdigest()


@dataclass
class Assessment:
    """The outcome of one assessment: compliant or not, every check, and what admission would store."""

    participant: str | None
    compliant: bool
    format: str
    digest: str
    text: str
    report: dict[str, Any]
    expires_at: dt.datetime | None
    name: str | None
    documents: list[Mapping[str, Any]] = field(default_factory=list)
    verdict: ComplianceVerdict | None = None

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [c for c in self.report["checks"] if not c["passed"]]

    @property
    def status_unknown(self) -> bool:
        """Failed only because status lists could not be retrieved (Bitstring Status List v1.0 §3.5
        ``STATUS_RETRIEVAL_ERROR``): every other check passed, so the status, not the credentials, is in doubt."""
        failures = self.failures
        return bool(failures) and all(c.get("code") in STATUS_UNKNOWN_CODES for c in failures)


def normalise_submission(
    body: bytes | str | Mapping[str, Any], *, max_bytes: int
) -> tuple[str | Mapping[str, Any], str]:
    """The presentation as a JWT string or JSON object plus its stored text; refuse oversized or malformed input."""
    if isinstance(body, bytes | str) and len(body) > max_bytes:
        raise SubmissionRefused(
            f"the submission is larger than {max_bytes} bytes", code="submission-too-large", status=413
        )
    if isinstance(body, bytes | str) and _bracket_depth(body) > DEFAULT_LIMITS.max_depth + 8:
        raise SubmissionRefused(
            f"the submission is nested deeper than {DEFAULT_LIMITS.max_depth} levels", code="limit-exceeded"
        )
    try:
        value = parse_input(body if not isinstance(body, Mapping) else dict(body))
    except VerificationError as exc:
        raise SubmissionRefused(exc.message, code=exc.code) from exc
    if isinstance(value, str):
        return value, value
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if len(text.encode()) > max_bytes:
        raise SubmissionRefused(
            f"the submission is larger than {max_bytes} bytes", code="submission-too-large", status=413
        )
    return value, text


#: Every byte value except the four brackets: ``bytes.translate`` deletes them in C before the depth count.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _bracket_depth(body: bytes | str) -> int:
    """Nesting depth by counting brackets (strings may contain brackets: an over-estimate, which is safe)."""
    data = body.encode() if isinstance(body, str) else body
    depth = deepest = 0
    for byte in data.translate(None, _NOT_BRACKETS):  # a VP-JWT has none: nothing left to loop over
        if byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class Admission:
    """Assesses presentations against a :class:`TrustFramework` with injected resolver and x5u fetcher."""

    def __init__(
        self,
        trust: TrustFramework,
        *,
        resolver: DidResolver,
        x5u_fetcher: X5uFetcher | None,
        loader: DocumentLoader | None = None,
        limits: Limits = DEFAULT_LIMITS,
        canonicalizer: Canonicalizer | None = None,
        status_lists: StatusListFetcher | None = None,
    ) -> None:
        """``canonicalizer`` canonicalizes the submitted JSON-LD (None: the process-wide worker pool);
        ``status_lists`` dereferences the credentials' Bitstring Status Lists (§3.2 step 4; None: status
        ``not-checked``). :attr:`trust` records which of the two applies (:attr:`TrustFramework.credential_status`)."""
        self.trust = replace(trust, credential_status=status_lists is not None)
        self.resolver = resolver
        self.x5u_fetcher = x5u_fetcher
        self.loader = loader
        self.limits = limits
        self.canonicalizer = canonicalizer
        self.status_lists = status_lists

    def shapes_for(self, value: str | Mapping[str, Any]) -> str:
        """Loire VP-JWTs are checked with 25.11, Tagus JSON-LD with 22.10, when that version is accepted."""
        preferred = "25.11" if isinstance(value, str) else "22.10"
        return preferred if preferred in self.trust.shapes_versions else self.trust.shapes_versions[0]

    async def assess(
        self, value: str | Mapping[str, Any], text: str, *, now: dt.datetime, presentation_window: bool = True
    ) -> Assessment:
        shapes = self.shapes_for(value)
        verdict = await check_compliance(
            value,
            resolver=self.resolver,
            trust_anchors=list(self.trust.anchors),
            trusted_notaries=self.trust.notaries,
            now=now,
            x5u_fetcher=self.x5u_fetcher,
            shapes=shapes,
            loader=self.loader,
            limits=self.limits,
            canonicalizer=self.canonicalizer,
            status_lists=self.status_lists,
        )
        checks = list(verdict.checks)
        if not presentation_window:
            checks = [c for c in checks if not _presentation_window_check(c)]
        credentials = verdict.assessment.credentials
        checks.extend(self._compliance_credential_checks(credentials))
        expiry, expiry_detail = await self._expiry(credentials, now)
        if expiry is not None and expiry <= now:
            checks.append(Check("expiry", False, f"admission would lapse at {expiry.isoformat()}", code="expired"))
        compliant = bool(checks) and all(c.passed for c in checks)
        holder = verdict.holder
        documents = [c.document for c in credentials if c.document]
        fmt = "vc-jwt" if isinstance(value, str) else "jsonld"
        report: dict[str, Any] = {
            "participant": holder,
            "compliant": compliant,
            "checkedAt": _iso(now),
            "format": fmt,
            "shapesVersion": shapes,
            "trust": self.trust.as_dict(),
            "trustFingerprint": self.trust.fingerprint,
            "presentationWindowChecked": presentation_window,
            "checks": [c.as_dict() for c in checks],
            "credentials": [credential_entry(c, i) for i, c in enumerate(credentials)],
            "shapes": verdict.shapes.as_dict() if verdict.shapes else None,
            "expiresAt": _iso(expiry),
            "expiry": expiry_detail,
        }
        return Assessment(
            participant=holder,
            compliant=compliant,
            format=fmt,
            digest=hashlib.sha256(text.encode()).hexdigest(),
            text=text,
            report=report,
            expires_at=expiry,
            name=participant_name(documents),
            documents=documents,
            verdict=verdict,
        )

    def _compliance_credential_checks(self, credentials: Sequence[CredentialAssessment]) -> list[Check]:
        checks: list[Check] = []
        others = [(c.document, c.raw_payload) for c in credentials if not is_compliance_credential(c)]
        for index, credential in enumerate(credentials):
            if not is_compliance_credential(credential):
                continue
            trusted = credential.issuer in self.trust.compliance_issuers
            checks.append(
                Check(
                    "compliance-issuer",
                    trusted,
                    f"compliance credential issued by {credential.issuer}"
                    + ("" if trusted else " which is not a trusted compliance service"),
                    index,
                    None if trusted else "untrusted-compliance-issuer",
                )
            )
            binding = match_compliance_entries(credential.document, others)
            checks.append(
                Check(
                    "compliance-binding",
                    binding.ok,
                    "compliance credential binds every credential by digest"
                    if binding.ok
                    else f"{len(binding.unmatched)} digest(s) of the compliance credential match no credential",
                    index,
                    None if binding.ok else "compliance-digest-mismatch",
                )
            )
        return checks

    async def _expiry(
        self, credentials: Sequence[CredentialAssessment], now: dt.datetime
    ) -> tuple[dt.datetime | None, dict[str, Any]]:
        credential_end = min((c.valid_until for c in credentials if c.valid_until is not None), default=None)
        compliance_end = min(
            (c.valid_until for c in credentials if c.valid_until is not None and is_compliance_credential(c)),
            default=None,
        )
        certificate_end: dt.datetime | None = None
        for kid in sorted({c.kid for c in credentials if c.kid}):
            end = await self._certificate_end(kid)
            if end is not None and (certificate_end is None or end < certificate_end):
                certificate_end = end
        candidates = [t for t in (credential_end, certificate_end, compliance_end) if t is not None]
        detail = {
            "credentialValidUntil": _iso(credential_end),
            "certificateNotAfter": _iso(certificate_end),
            "complianceValidUntil": _iso(compliance_end),
        }
        return (min(candidates) if candidates else None), detail

    async def _certificate_end(self, kid: str) -> dt.datetime | None:
        """The earliest ``notAfter`` of the x5u chain of ``kid`` (None when it cannot be read: trust failed then)."""
        if self.x5u_fetcher is None:
            return None
        try:
            document = await self.resolver.resolve(kid.split("#", 1)[0])
            jwk = document.public_jwk(kid)
            x5u = jwk.get("x5u")
            if not isinstance(x5u, str):
                return None
            chain = load_pem_certificates(await self.x5u_fetcher.fetch(x5u), source=x5u)
        except SelfDescriptionError:
            return None
        return min(c.not_valid_after_utc for c in chain)

    def issue_label(
        self, assessment: Assessment, *, key: KeyPair, kid: str, now: dt.datetime, validity: dt.timedelta
    ) -> str | None:
        """A ``gx:LabelCredential`` from the catalogue for a compliant, fresh submission (None otherwise)."""
        if assessment.verdict is None or not assessment.verdict.compliant:
            return None
        if assessment.expires_at is not None:
            validity = min(validity, assessment.expires_at - now)
        return issue_compliance_credential(assessment.verdict, key=key, kid=kid, now=now, validity=validity)


def _presentation_window_check(check: Check) -> bool:
    if check.credential is not None:
        return False
    return check.name == "validity" or (check.name == "credential" and check.code in _PRESENTATION_WINDOW_CODES)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
