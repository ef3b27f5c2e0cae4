"""The checks GXDCH runs over a participant presentation, and the compliance credential it issues.

:func:`check_compliance` reproduces the Loire verdict (``gaiax.md`` §7.1): every signature (VP and each enveloped
VC) verified against the issuer's DID key and its ``x5u`` chain to the trust anchors; validity at ``now``; SHACL over
the union of the subjects with the targeted release's shapes; a ``gx:LegalPerson`` and a ``gx:Issuer`` with an
accepted Gaia-X T&C hash, both issued by the participant (the VP holder); a registration-number credential issued by
a trusted notary and referenced by the LegalPerson; service offerings provided by a LegalPerson of the VP and issued
by its issuer. The verdict lists **every** failed check (decisions return, house rule 3).

:func:`issue_compliance_credential` turns a passing verdict into a ``gx:LabelCredential`` VC-JWT whose
``gx:compliantCredentials`` bind each covered credential by digest (SRI ``sha256-<base64>`` over the exact signed JWT
payload bytes, or over JCS without proof for JSON-LD credentials). :func:`match_compliance_entries` does the
reverse for any compliance credential from the field, accepting every digest convention in use (Tagus JCS with
proof, engine 2.2.0 raw payload hex, SRI), and matching **by digest, never by id** (§6).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from self_descriptions.build import GAIAX_TERMS_AND_CONDITIONS_HASHES, GX_DEVELOPMENT, LOIRE_CONTEXT
from self_descriptions.canonical import DEFAULT_LIMITS, Limits, credential_digests, sri
from self_descriptions.canonical_worker import Canonicalizer
from self_descriptions.did import DidResolver
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import KeyPair
from self_descriptions.loader import DocumentLoader
from self_descriptions.proofs.vc_jwt import W3C, HeaderProfile, format_datetime, sign_vc_jwt
from self_descriptions.shacl import Engine, ShaclError, ShaclReport, Shapes, validate_async
from self_descriptions.status_list import StatusListFetcher
from self_descriptions.trust import X5uFetcher
from self_descriptions.verify import CredentialAssessment, PresentationAssessment, assess_presentation, make_context

ENGINE_VERSION = "gxc-1.0"
RULES_VERSION = "CD25.10"
#: Keys under which compliance credentials carry digests (Tagus, engine 2.2.0, CD25.03+, VCDM 2.0 term).
DIGEST_KEYS = (
    "gx:integrity",
    "integrity",
    "gx:digestSRI",
    "digestSRI",
    "cred:digestSRI",
    "https://www.w3.org/2018/credentials#digestSRI",
    f"{GX_DEVELOPMENT}integrity",
)
COMPLIANCE_TYPES = frozenset(
    {"gx:compliance", "gx:ComplianceCredential", "gx:LabelCredential", "ComplianceCredential", "LabelCredential"}
)


class ComplianceError(SelfDescriptionError):
    """A compliance credential cannot be issued (the verdict did not pass) or is malformed."""

    code = "compliance-error"


@dataclass(frozen=True)
class Check:
    """One compliance check; ``credential`` is the index of the credential it concerns (None: the whole VP)."""

    name: str
    passed: bool
    message: str
    credential: int | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "credential": self.credential,
            "code": self.code,
        }


@dataclass
class ComplianceVerdict:
    """The outcome of :func:`check_compliance`; ``compliant`` only when every check passed."""

    checks: list[Check]
    assessment: PresentationAssessment
    shapes: ShaclReport | None
    holder: str | None
    now: dt.datetime

    @property
    def compliant(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "compliant": self.compliant,
            "holder": self.holder,
            "checks": [c.as_dict() for c in self.checks],
            "shapes": self.shapes.as_dict() if self.shapes else None,
        }


async def check_compliance(
    vp: str | Mapping[str, Any],
    *,
    resolver: DidResolver,
    trust_anchors: Sequence[x509.Certificate] | None,
    trusted_notaries: Iterable[str],
    now: dt.datetime,
    x5u_fetcher: X5uFetcher | None = None,
    shapes: Shapes | str | None = "25.11",
    shacl_engine: Engine = "turbo",
    accepted_terms_hashes: Iterable[str] = GAIAX_TERMS_AND_CONDITIONS_HASHES,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    canonicalizer: Canonicalizer | None = None,
    status_lists: StatusListFetcher | None = None,
) -> ComplianceVerdict:
    """Run the GXDCH checks over a participant VP (VP-JWT or JSON-LD); never raises for a non-compliant VP.

    The VP is untrusted input: its JSON-LD is canonicalized (JsonWebSignature2020) and converted to RDF (SHACL) by
    ``canonicalizer``, by default the process-wide worker pool with its timeout (RDFC-1.0 §7.1).

    With ``status_lists`` every credential's W3C Bitstring Status List v1.0 status is checked (§3.2, ICAM 25.11,
    ``gaiax.md`` §9.3): a revoked or suspended credential, or one whose status cannot be established, fails its
    ``credential`` check with code ``revoked`` / ``suspended`` / ``status-*``, naming the list and index."""
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
    assessment = await assess_presentation(vp, ctx)
    checks: list[Check] = [Check("presentation", False, p.message, code=p.code) for p in assessment.errors]
    own = assessment.presentation
    holder = own.issuer if own is not None else None
    if own is None:
        checks.append(
            Check(
                "presentation-signature",
                False,
                "the presentation is not signed (send a VP-JWT)",
                code="unsigned-presentation",
            )
        )
    else:
        checks.extend(_credential_checks(own, None))
    for index, credential in enumerate(assessment.credentials):
        checks.extend(_credential_checks(credential, index))
    documents = [c.document for c in assessment.credentials if c.document]
    report: ShaclReport | None = None
    if shapes is not None and documents:
        try:
            report = await validate_async(
                documents,
                canonicalizer=ctx.active_canonicalizer,
                shapes=shapes,
                engine=shacl_engine,
                loader=loader,
                limits=limits,
            )
            checks.append(
                Check(
                    "shapes",
                    report.conforms,
                    f"{len(report.violations)} SHACL violation(s) against the {report.version} shapes"
                    if not report.conforms
                    else f"conforms to the {report.version} shapes",
                    code=None if report.conforms else "shacl-violation",
                )
            )
        except SelfDescriptionError as exc:
            checks.append(Check("shapes", False, exc.message, code=exc.code))
    checks.extend(_content_checks(assessment.credentials, holder, set(trusted_notaries), set(accepted_terms_hashes)))
    return ComplianceVerdict(checks=checks, assessment=assessment, shapes=report, holder=holder, now=now)


def _credential_checks(result: CredentialAssessment, index: int | None) -> list[Check]:
    what = "presentation" if index is None else f"credential {index} ({result.id or 'no id'})"
    checks = [
        Check(
            "signature",
            result.signature == "valid",
            f"{what}: signature {result.signature}" + (f" ({result.flavour} flavour)" if result.flavour else ""),
            index,
            None if result.signature == "valid" else f"signature-{result.signature}",
        ),
        Check(
            "trust-anchor",
            result.trust == "valid",
            f"{what}: key chain {result.trust}" + (f" to {result.anchor}" if result.anchor else ""),
            index,
            None if result.trust == "valid" else "untrusted",
        ),
        Check(
            "validity",
            result.validity == "valid",
            f"{what}: {result.validity}",
            index,
            None if result.validity == "valid" else result.validity,
        ),
    ]
    checks.extend(Check("credential", False, f"{what}: {p.message}", index, p.code) for p in result.errors)
    return checks


def _types(credential: CredentialAssessment) -> set[str]:
    return {t.removeprefix(GX_DEVELOPMENT).removeprefix("gx:") for t in credential.types}


def _subject_values(credential: CredentialAssessment, key: str) -> list[Any]:
    subject = credential.document.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    out: list[Any] = []
    for s in subjects:
        if isinstance(s, Mapping):
            for name in (f"gx:{key}", key, f"{GX_DEVELOPMENT}{key}"):
                value = s.get(name)
                if value is not None:
                    out.extend(value if isinstance(value, list) else [value])
    return out


def _subject_ids(credential: CredentialAssessment) -> list[str]:
    subject = credential.document.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    return [s["id"] for s in subjects if isinstance(s, Mapping) and isinstance(s.get("id"), str)]


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id", value.get("@id"))
    return value if isinstance(value, str) else None


def _content_checks(
    credentials: list[CredentialAssessment], holder: str | None, notaries: set[str], terms: set[str]
) -> list[Check]:
    checks: list[Check] = []
    legal = [(i, c) for i, c in enumerate(credentials) if "LegalPerson" in _types(c)]
    issuers = [(i, c) for i, c in enumerate(credentials) if "Issuer" in _types(c)]
    numbers = {
        sid: (i, c)
        for i, c in enumerate(credentials)
        if _types(c) & {"VatID", "LeiCode", "EORI", "EUID", "TaxID", "LocalRegistrationNumber", "RegistrationNumber"}
        for sid in _subject_ids(c)
    }
    if not legal:
        checks.append(
            Check(
                "legal-person", False, "the presentation has no gx:LegalPerson credential", code="missing-legal-person"
            )
        )
    for index, credential in legal:
        self_signed = holder is None or credential.issuer == holder
        checks.append(
            Check(
                "participant-issued",
                self_signed,
                f"gx:LegalPerson issued by {credential.issuer} (holder {holder})",
                index,
                None if self_signed else "not-self-issued",
            )
        )
        refs = [_ref(v) for v in _subject_values(credential, "registrationNumber")]
        if not refs:
            checks.append(
                Check(
                    "registration-number",
                    False,
                    "gx:LegalPerson has no gx:registrationNumber",
                    index,
                    "missing-registration-number",
                )
            )
        for ref in refs:
            found = numbers.get(ref or "")
            if found is None:
                checks.append(
                    Check(
                        "registration-number",
                        False,
                        f"registration number {ref} is not in the presentation",
                        index,
                        "missing-registration-number",
                    )
                )
                continue
            notary_index, notary_vc = found
            trusted = notary_vc.issuer in notaries
            checks.append(
                Check(
                    "trusted-notary",
                    trusted,
                    f"registration number {ref} issued by {notary_vc.issuer}"
                    + ("" if trusted else " which is not a trusted notary"),
                    notary_index,
                    None if trusted else "untrusted-notary",
                )
            )
    if not issuers:
        checks.append(
            Check(
                "terms-and-conditions",
                False,
                "the presentation has no gx:Issuer credential accepting the Gaia-X terms and conditions",
                code="missing-terms",
            )
        )
    for index, credential in issuers:
        values = [v for v in _subject_values(credential, "gaiaxTermsAndConditions") if isinstance(v, str)]
        accepted = any(v in terms for v in values)
        checks.append(
            Check(
                "terms-and-conditions",
                accepted,
                "Gaia-X terms and conditions " + ("accepted" if accepted else f"hash {values} not accepted"),
                index,
                None if accepted else "bad-terms",
            )
        )
        self_signed = holder is None or credential.issuer == holder
        checks.append(
            Check(
                "participant-issued",
                self_signed,
                f"gx:Issuer issued by {credential.issuer}",
                index,
                None if self_signed else "not-self-issued",
            )
        )
    legal_subjects = {sid: c for _, c in legal for sid in _subject_ids(c)}
    for index, credential in enumerate(credentials):
        if "ServiceOffering" not in _types(credential):
            continue
        for value in _subject_values(credential, "providedBy") or [None]:
            ref = _ref(value)
            provider = legal_subjects.get(ref or "")
            ok = provider is not None and provider.issuer == credential.issuer
            checks.append(
                Check(
                    "service-offering-provider",
                    ok,
                    f"service offering provided by {ref}"
                    + ("" if ok else " which is not a LegalPerson of the presentation issued by the same participant"),
                    index,
                    None if ok else "bad-provider",
                )
            )
    return checks


def issue_compliance_credential(
    verdict: ComplianceVerdict,
    *,
    key: KeyPair,
    kid: str,
    now: dt.datetime,
    credential_id: str | None = None,
    validity: dt.timedelta = dt.timedelta(days=90),
    label_level: str = "SC",
    validated_criteria: Sequence[str] = (
        "https://docs.gaia-x.eu/policy-rules-committee/compliance-document/25.10/criteria_participant/",
    ),
    profile: HeaderProfile = W3C,
    credential_status: Sequence[Mapping[str, Any]] = (),
) -> str:
    """A ``gx:LabelCredential`` VC-JWT covering every credential of a compliant verdict (raises otherwise).

    ``credential_status``: ``BitstringStatusListEntry`` objects (W3C Bitstring Status List v1.0 §2.1) when the
    clearing house can revoke its credentials (``self_descriptions.status_list.status_entry``)."""
    if not verdict.compliant:
        failed = "; ".join(f.message for f in verdict.failures[:5])
        raise ComplianceError(f"the presentation is not compliant: {failed}", code="not-compliant")
    did = kid.split("#", 1)[0]
    vc_id = credential_id or f"urn:uuid:{uuid.uuid4()}"
    covered = []
    for credential in verdict.assessment.credentials:
        data = credential.raw_payload if credential.raw_payload is not None else _jcs_without_proof(credential)
        covered.append(
            {
                "type": "gx:CompliantCredential",
                "id": credential.id or (credential.token and f"data:application/vc+jwt,{credential.token}"),
                "gx:credentialType": next(
                    (t for t in credential.types if t != "VerifiableCredential"), "VerifiableCredential"
                ),
                "cred:digestSRI": {"@value": sri(data), "@type": "cred:sriString"},
            }
        )
    vc = {
        "@context": list(LOIRE_CONTEXT),
        "type": ["VerifiableCredential", "gx:LabelCredential"],
        "id": vc_id,
        "issuer": did,
        "validFrom": format_datetime(now),
        "validUntil": format_datetime(now + validity),
        "credentialSubject": {
            "id": f"{vc_id}#cs",
            "type": "gx:LabelCredential",
            "gx:labelLevel": label_level,
            "gx:engineVersion": ENGINE_VERSION,
            "gx:rulesVersion": RULES_VERSION,
            "gx:validatedCriteria": list(validated_criteria),
            "gx:compliantCredentials": covered,
        },
    }
    if credential_status:
        vc["credentialStatus"] = [dict(entry) for entry in credential_status]
    return sign_vc_jwt(vc, key, kid=kid, profile=profile, issued_at=now, expires_at=now + validity)


def _jcs_without_proof(credential: CredentialAssessment) -> bytes:
    from self_descriptions.canonical import jcs

    return jcs({k: v for k, v in credential.document.items() if k != "proof"})


@dataclass(frozen=True)
class Binding:
    """One digest entry of a compliance credential and the credential it matched (``None``: nothing matched)."""

    digest: str
    entry_id: str | None
    credential: int | None
    convention: str | None


@dataclass
class BindingReport:
    bindings: list[Binding] = field(default_factory=list)

    @property
    def unmatched(self) -> list[Binding]:
        return [b for b in self.bindings if b.credential is None]

    @property
    def ok(self) -> bool:
        return bool(self.bindings) and not self.unmatched


def is_compliance_credential(credential: CredentialAssessment) -> bool:
    return bool(set(credential.types) & COMPLIANCE_TYPES)


def match_compliance_entries(
    compliance: Mapping[str, Any], credentials: Sequence[tuple[Mapping[str, Any], bytes | None]]
) -> BindingReport:
    """Match each digest entry of ``compliance`` to one of ``credentials`` (document, raw JWT payload) by digest."""
    index: dict[str, tuple[int, str]] = {}
    for i, (document, raw) in enumerate(credentials):
        for convention, digest in credential_digests(document, raw).items():
            index.setdefault(_normal(digest), (i, convention))
    report = BindingReport()
    for entry in _digest_entries(compliance.get("credentialSubject")):
        digest = next(_digest_value(entry[k]) for k in DIGEST_KEYS if k in entry)
        found = index.get(_normal(digest))
        report.bindings.append(Binding(digest, _ref(entry), found[0] if found else None, found[1] if found else None))
    return report


def _digest_entries(value: Any, depth: int = 0) -> list[Mapping[str, Any]]:
    if depth > 8:
        return []
    if isinstance(value, list):
        return [e for v in value for e in _digest_entries(v, depth + 1)]
    if not isinstance(value, Mapping):
        return []
    if any(k in value for k in DIGEST_KEYS):
        return [value]
    return [e for v in value.values() for e in _digest_entries(v, depth + 1)]


def _digest_value(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("@value")
    return str(value)


def _normal(digest: str) -> str:
    """Hex digests compare case-insensitively; base64 SRI digests are case-sensitive."""
    algorithm, _, rest = digest.strip().partition("-")
    if rest and all(c in "0123456789abcdefABCDEF" for c in rest) and len(rest) in (64, 128):
        return f"{algorithm.lower()}-{rest.lower()}"
    return digest.strip()


__all__ = [
    "Binding",
    "BindingReport",
    "Check",
    "ComplianceError",
    "ComplianceVerdict",
    "ShaclError",
    "check_compliance",
    "is_compliance_credential",
    "issue_compliance_credential",
    "match_compliance_entries",
]
