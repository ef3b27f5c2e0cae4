"""Gaia-X Loire 25.11 credential payloads, generated from the participant profile and its datasets.

Everything a participant publishes is derived from two inputs: a :class:`ParticipantProfile` (from the connector
configuration) and the :class:`DatasetDescription` list the connector actually offers (with each dataset's ODRL
policy as JSON). The self-description therefore never drifts from what the connector serves.

Shapes followed (``gaiax.md`` §3.1, the bundled ``shapes/2511/gx.shacl.ttl``): ``gx:LegalPerson`` (``schema:name``,
``gx:legalAddress``/``gx:headquartersAddress`` as ``gx:Address`` with ``gx:countryCode``, ``gx:registrationNumber``),
``gx:Issuer`` (``gx:gaiaxTermsAndConditions``), registration numbers as a notary issues them (``gx:VatID``,
``gx:LeiCode``, ``gx:EORI``, ``gx:TaxID``, ``gx:EUID``, ``gx:LocalRegistrationNumber``), ``gx:ServiceOffering``
(``gx:providedBy``, ``gx:serviceOfferingTermsAndConditions``, ``gx:servicePolicy`` as ``gx:AccessUsagePolicy`` carrying
the ODRL document) and one ``gx:VirtualResource`` per dataset (25.11 removed ``gx:DataResource``).

Identifiers follow ICAM 25.11 §5.2.2: the VP, each VC and each credential subject have different ids
(``<base>/credentials/<name>.json`` for a VC, ``…#cs`` for its subject).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.vc_jwt import CREDENTIALS_V2, format_datetime

GX_DEVELOPMENT = "https://w3id.org/gaia-x/development#"
SCHEMA_PREFIX = {"schema": "https://schema.org/"}
LOIRE_CONTEXT: list[Any] = [CREDENTIALS_V2, GX_DEVELOPMENT, SCHEMA_PREFIX]
#: The Gaia-X T&C hashes the 25.11 ``gx:Issuer`` shape accepts (``sh:in``); the second is the registry value (2411).
GAIAX_TERMS_AND_CONDITIONS_HASHES = (
    "067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515",
    "4bd7554097444c960292b4726c2efa1373485e8a5565d94d41195214c5e0ceb3",
)
DEFAULT_VALIDITY = dt.timedelta(days=90)

RegistrationKind = Literal["vatID", "leiCode", "EORI", "taxID", "EUID", "local"]

#: kind -> (credential subject type, value property, country property) per the 25.11 shapes.
_REGISTRATION_SHAPES: dict[str, tuple[str, str, str | None]] = {
    "vatID": ("gx:VatID", "gx:vatID", "gx:countryCode"),
    "leiCode": ("gx:LeiCode", "schema:leiCode", "gx:countryCode"),
    "EORI": ("gx:EORI", "gx:eori", "gx:country"),
    "taxID": ("gx:TaxID", "schema:taxID", None),
    "EUID": ("gx:EUID", "gx:euid", None),
    "local": ("gx:LocalRegistrationNumber", "gx:local", None),
}
#: Evidence sources a notary cites (``gaiax.md`` §7.3).
_EVIDENCE_URLS = {
    "vatID": "https://ec.europa.eu/taxation_customs/vies/services/checkVatService",
    "leiCode": "https://api.gleif.org/api/v1/lei-records/",
    "EORI": "https://ec.europa.eu/taxation_customs/dds2/eos/validation/services/validation",
    "taxID": "https://api.opencorporates.com/",
}


class BuildError(SelfDescriptionError):
    """The profile or a dataset cannot be turned into a valid credential; the message names the field."""

    code = "build-error"


@dataclass(frozen=True)
class Address:
    """A ``gx:Address``: ISO 3166-1 country code plus optional vCard parts."""

    country_code: str
    street_address: str | None = None
    postal_code: str | None = None
    locality: str | None = None


@dataclass(frozen=True)
class RegistrationNumber:
    """A registration number the participant holds (what a notary checks)."""

    kind: RegistrationKind
    value: str
    country_code: str | None = None


@dataclass(frozen=True)
class ParticipantProfile:
    """Who the participant is; built from the connector configuration."""

    did: str
    base_url: str
    legal_name: str
    legal_address: Address
    registration_numbers: tuple[RegistrationNumber, ...]
    headquarters_address: Address | None = None
    description: str | None = None
    terms_and_conditions_hash: str = GAIAX_TERMS_AND_CONDITIONS_HASHES[1]
    service_terms_url: str | None = None
    service_terms_hash: str | None = None
    data_protection_regime: str | None = "GDPR2016"


@dataclass(frozen=True)
class DatasetDescription:
    """One dataset the connector offers, with the ODRL policy it is offered under (JSON-LD as a dict)."""

    id: str
    title: str
    policy: Mapping[str, Any]
    description: str | None = None
    license: str = "CC-BY-4.0"
    keywords: tuple[str, ...] = ()
    terms_url: str | None = None
    terms_hash: str | None = None
    copyright_owner: str | None = None


@dataclass(frozen=True)
class Validity:
    """``validFrom``/``validUntil`` of generated credentials (time is injected, never read)."""

    valid_from: dt.datetime
    valid_until: dt.datetime

    @classmethod
    def starting(cls, now: dt.datetime, duration: dt.timedelta = DEFAULT_VALIDITY) -> Validity:
        return cls(now, now + duration)


@dataclass(frozen=True)
class SelfDescription:
    """The unsigned credentials of a participant, in the order GXDCH expects them in a VP."""

    legal_person: dict[str, Any]
    issuer: dict[str, Any]
    registration_numbers: list[dict[str, Any]]
    service_offerings: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)

    def participant_credentials(self) -> list[dict[str, Any]]:
        """Issued by the participant itself (the registration numbers are issued by a notary)."""
        return [self.legal_person, self.issuer, *self.service_offerings, *self.resources]

    def all(self) -> list[dict[str, Any]]:
        return [self.legal_person, *self.registration_numbers, self.issuer, *self.service_offerings, *self.resources]


def credential_id(profile: ParticipantProfile, name: str) -> str:
    return f"{profile.base_url.rstrip('/')}/credentials/{quote(name, safe='-._~')}.json"


def subject_id(vc_id: str) -> str:
    return f"{vc_id}#cs"


def registration_number_id(profile: ParticipantProfile, number: RegistrationNumber) -> str:
    return credential_id(profile, f"lrn-{number.kind.lower()}")


def _envelope(vc_id: str, issuer: str, vc_type: str, subject: Mapping[str, Any], validity: Validity) -> dict[str, Any]:
    return {
        "@context": list(LOIRE_CONTEXT),
        "type": ["VerifiableCredential", vc_type],
        "id": vc_id,
        "issuer": issuer,
        "validFrom": format_datetime(validity.valid_from),
        "validUntil": format_datetime(validity.valid_until),
        "credentialSubject": {"id": subject_id(vc_id), "type": vc_type, **subject},
    }


def _address(address: Address) -> dict[str, Any]:
    code = address.country_code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2,3}|[0-9]{1,3}", code):
        raise BuildError(f"country code {address.country_code!r} is not ISO 3166-1 (alpha-2, alpha-3 or numeric)")
    out: dict[str, Any] = {"type": "gx:Address", "gx:countryCode": code}
    if address.street_address:
        out["vcard:street-address"] = address.street_address
    if address.postal_code:
        out["vcard:postal-code"] = address.postal_code
    if address.locality:
        out["vcard:locality"] = address.locality
    return out


def build_legal_person(profile: ParticipantProfile, validity: Validity) -> dict[str, Any]:
    """The participant's ``gx:LegalPerson`` credential (self-issued)."""
    if not profile.legal_name.strip():
        raise BuildError("the participant needs a legal name (participant_name)")
    if not profile.registration_numbers:
        raise BuildError("the participant needs at least one registration number (vatID, leiCode, EORI, ...)")
    vc_id = credential_id(profile, "legal-person")
    subject: dict[str, Any] = {
        "schema:name": profile.legal_name,
        "gx:legalAddress": _address(profile.legal_address),
        "gx:headquartersAddress": _address(profile.headquarters_address or profile.legal_address),
        "gx:registrationNumber": [
            {"id": subject_id(registration_number_id(profile, n))} for n in profile.registration_numbers
        ],
    }
    if profile.description:
        subject["schema:description"] = profile.description
    return _envelope(vc_id, profile.did, "gx:LegalPerson", subject, validity)


def build_issuer(profile: ParticipantProfile, validity: Validity) -> dict[str, Any]:
    """The ``gx:Issuer`` credential accepting the Gaia-X terms and conditions (replaces Tagus T&C)."""
    if profile.terms_and_conditions_hash not in GAIAX_TERMS_AND_CONDITIONS_HASHES:
        raise BuildError(
            f"terms_and_conditions_hash {profile.terms_and_conditions_hash!r} is not a Gaia-X T&C hash accepted by "
            f"the 25.11 shapes ({', '.join(GAIAX_TERMS_AND_CONDITIONS_HASHES)})"
        )
    vc_id = credential_id(profile, "issuer")
    return _envelope(
        vc_id, profile.did, "gx:Issuer", {"gx:gaiaxTermsAndConditions": profile.terms_and_conditions_hash}, validity
    )


def build_registration_number(
    profile: ParticipantProfile,
    number: RegistrationNumber,
    *,
    notary_did: str,
    validity: Validity,
    evidence_time: dt.datetime | None = None,
) -> dict[str, Any]:
    """A registration-number credential as a (development) notary issues it, with ``evidence`` (``gaiax.md`` §3.2)."""
    shape = _REGISTRATION_SHAPES.get(number.kind)
    if shape is None:
        raise BuildError(f"unknown registration number kind {number.kind!r}")
    if len(number.value.strip()) < 3:
        raise BuildError(f"registration number {number.value!r} is too short")
    vc_type, value_property, country_property = shape
    subject: dict[str, Any] = {value_property: number.value.strip()}
    if number.country_code and country_property:
        subject[country_property] = number.country_code.upper()
    vc = _envelope(registration_number_id(profile, number), notary_did, vc_type, subject, validity)
    vc["evidence"] = {
        "gx:evidenceOf": vc_type,
        "gx:evidenceURL": _EVIDENCE_URLS.get(number.kind, profile.base_url),
        "gx:executionDate": format_datetime(evidence_time or validity.valid_from),
    }
    return vc


def build_service_offering(
    profile: ParticipantProfile, dataset: DatasetDescription, validity: Validity
) -> dict[str, Any]:
    """A ``gx:ServiceOffering`` for one dataset; its ``gx:servicePolicy`` carries the dataset's ODRL policy."""
    terms_url = dataset.terms_url or profile.service_terms_url
    terms_hash = dataset.terms_hash or profile.service_terms_hash
    if not terms_url or not terms_hash:
        raise BuildError(
            f"dataset {dataset.id!r}: a service offering needs terms and conditions (service_terms_url and "
            "service_terms_hash in the profile, or terms_url/terms_hash on the dataset)"
        )
    vc_id = credential_id(profile, f"service-offering-{dataset.id}")
    subject: dict[str, Any] = {
        "schema:name": dataset.title,
        "gx:providedBy": {"id": subject_id(credential_id(profile, "legal-person"))},
        "gx:serviceOfferingTermsAndConditions": {
            "type": "gx:TermsAndConditions",
            "gx:url": {"@value": terms_url, "@type": "xsd:anyURI"},
            "gx:hash": terms_hash,
        },
        "gx:servicePolicy": {
            "type": "gx:AccessUsagePolicy",
            "gx:policyLanguage": "ODRL",
            "gx:policyDocument": _policy_text(dataset),
        },
        "gx:aggregationOfResources": {"id": subject_id(credential_id(profile, f"resource-{dataset.id}"))},
    }
    if dataset.description:
        subject["schema:description"] = dataset.description
    if dataset.keywords:
        subject["gx:keyword"] = list(dataset.keywords)
    if profile.data_protection_regime:
        subject["gx:dataProtectionRegime"] = profile.data_protection_regime
    return _envelope(vc_id, profile.did, "gx:ServiceOffering", subject, validity)


def build_resource(profile: ParticipantProfile, dataset: DatasetDescription, validity: Validity) -> dict[str, Any]:
    """A ``gx:VirtualResource`` describing the dataset (licence, copyright owner, ODRL usage policy)."""
    vc_id = credential_id(profile, f"resource-{dataset.id}")
    owner: Any = (
        dataset.copyright_owner
        if dataset.copyright_owner
        else {"id": subject_id(credential_id(profile, "legal-person"))}
    )
    subject: dict[str, Any] = {
        "schema:name": dataset.title,
        "gx:copyrightOwnedBy": owner,
        "gx:license": dataset.license,
        "gx:resourcePolicy": _policy_text(dataset),
    }
    if dataset.description:
        subject["schema:description"] = dataset.description
    return _envelope(vc_id, profile.did, "gx:VirtualResource", subject, validity)


def build_self_description(
    profile: ParticipantProfile,
    datasets: Sequence[DatasetDescription],
    *,
    validity: Validity,
    notary_did: str | None = None,
) -> SelfDescription:
    """All credentials of a participant: LegalPerson, Issuer, registration numbers, offerings and resources.

    Registration-number credentials are issued by ``notary_did`` (a development notary); without it they are
    omitted, because in production the GXDCH notary issues them.
    """
    seen: set[str] = set()
    for dataset in datasets:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}", dataset.id):
            raise BuildError(f"dataset id {dataset.id!r} must be 1-128 URL-safe characters (A-Z a-z 0-9 . _ ~ -)")
        if dataset.id in seen:
            raise BuildError(f"dataset id {dataset.id!r} is used twice")
        seen.add(dataset.id)
    numbers = (
        [
            build_registration_number(profile, n, notary_did=notary_did, validity=validity)
            for n in profile.registration_numbers
        ]
        if notary_did
        else []
    )
    return SelfDescription(
        legal_person=build_legal_person(profile, validity),
        issuer=build_issuer(profile, validity),
        registration_numbers=numbers,
        service_offerings=[build_service_offering(profile, d, validity) for d in datasets],
        resources=[build_resource(profile, d, validity) for d in datasets],
    )


def _policy_text(dataset: DatasetDescription) -> str:
    """The ODRL policy as compact JSON text (the 25.11 shapes type policy documents as ``xsd:string``)."""
    if not isinstance(dataset.policy, Mapping) or not dataset.policy:
        raise BuildError(f"dataset {dataset.id!r} has no ODRL policy (a JSON object)")
    try:
        return json.dumps(dataset.policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise BuildError(f"dataset {dataset.id!r}: the policy is not JSON ({exc})") from exc
