"""The participant's Gaia-X self-description, generated from what the connector actually offers, and published.

Built from the configuration (legal name, country, VAT id) plus the datasets offered through contract definitions
(each with its contract policy), so it never drifts from the catalog (issue 3, "Building credentials"). The
participant signs its own credentials (VC-JWT, VC-JOSE-COSE), obtains the registration-number credential from the
notary and a compliance credential from the compliance service (GXDCH roles; a development trust anchor in the demo),
keeps all of them in its wallet (so verifiers can query them over DCP) and submits the VP-JWT to the configured
federated catalogues.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.errors import ConnectorError
from connector.identity.wallet import HeldCredential
from connector.peer.client import PeerUnreachable
from connector.peer.egress import EgressDenied
from connector.services.provider_catalog import all_items
from connector.services.runtime import Runtime
from self_descriptions.build import (
    Address,
    DatasetDescription,
    ParticipantProfile,
    RegistrationNumber,
    Validity,
    build_self_description,
)
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.vc_jwt import build_presentation, sign_vc_jwt, sign_vp_jwt

_SAFE = re.compile(r"[^A-Za-z0-9._~-]")


class SelfDescriptionFailed(ConnectorError):
    code = "self-description-failed"


@dataclass(frozen=True)
class Profile:
    """The configuration a self-description is built from."""

    legal_name: str
    country_code: str
    vat_id: str | None
    notary_url: str | None
    compliance_url: str | None
    #: The service terms and conditions every offering refers to (URL and SHA-256 of the text served there).
    terms_url: str | None = None
    terms_hash: str | None = None


@dataclass
class Publication:
    """What building and publishing produced: the VP-JWT, its credentials, and each catalogue's answer."""

    presentation: str
    credentials: list[str]
    compliance: dict[str, Any] | None = None
    catalogs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "presentation": self.presentation,
            "credentials": self.credentials,
            "compliance": self.compliance,
            "catalogs": self.catalogs,
        }


def dataset_slug(asset_id: str) -> str:
    """A URL-safe dataset id for credential ids (asset ids may be URNs)."""
    slug = _SAFE.sub("-", asset_id).strip("-")[:100] or "dataset"
    if slug != asset_id:
        slug += "-" + hashlib.sha256(asset_id.encode()).hexdigest()[:8]
    return slug


async def offered_datasets(rt: Runtime) -> list[DatasetDescription]:
    """Every asset offered by a contract definition, with its contract policy (the first definition wins)."""
    out: dict[str, DatasetDescription] = {}
    async with rt.store.transaction() as tx:
        async for definition in all_items(lambda o: tx.contract_definitions.list(offset=o, limit=200)):
            contract = await tx.policies.get(definition.contract_policy_id)
            page = await tx.assets.list(ids=definition.asset_ids, limit=1000)
            for asset in page.items:
                out.setdefault(
                    asset.id,
                    DatasetDescription(
                        id=dataset_slug(asset.id),
                        title=asset.title,
                        policy=contract.policy,
                        description=asset.description,
                        keywords=asset.keywords,
                    ),
                )
    return list(out.values())


async def build_and_sign(rt: Runtime, profile: Profile) -> Publication:
    """Build, sign, certify (notary, compliance) and store in the wallet; raises with the step that failed."""
    now = rt.now()
    identity = rt.identity
    numbers = (RegistrationNumber("vatID", profile.vat_id, profile.country_code),) if profile.vat_id else ()
    participant = ParticipantProfile(
        did=identity.did,
        base_url=identity.base_url,
        legal_name=profile.legal_name,
        legal_address=Address(profile.country_code),
        registration_numbers=numbers,
        service_terms_url=profile.terms_url,
        service_terms_hash=profile.terms_hash,
    )
    validity = Validity.starting(now)
    try:
        sd = build_self_description(participant, await offered_datasets(rt), validity=validity)
    except SelfDescriptionError as exc:
        raise SelfDescriptionFailed(f"cannot build the self-description: {exc.message}") from exc
    own = [sign_vc_jwt(vc, identity.key, kid=identity.kid, issued_at=now) for vc in sd.participant_credentials()]
    notarised: list[str] = []
    if profile.vat_id:
        if not profile.notary_url:
            raise SelfDescriptionFailed("vat_id is set but notary_url is not: no one can certify the number")
        answer = await _post(
            rt,
            profile.notary_url.rstrip("/") + "/registration-numbers",
            {
                "participant": identity.did,
                "baseUrl": identity.base_url,
                "type": "vatID",
                "value": profile.vat_id,
                "countryCode": profile.country_code,
            },
            "the notary",
        )
        notarised.append(str(answer["credential"]))
    # GXDCH order: LegalPerson, registration numbers, Issuer (T&C), then offerings and resources.
    credentials = [own[0], *notarised, *own[1:]]
    vp = _presentation(rt, credentials)
    publication = Publication(presentation=vp, credentials=credentials)
    if profile.compliance_url:
        answer = await _post(
            rt, profile.compliance_url.rstrip("/") + "/credential-offers", {"vp": vp}, "the compliance service"
        )
        label = str(answer["credential"])
        publication.compliance = answer.get("verdict")
        credentials.append(label)
        publication.presentation = _presentation(rt, credentials)
    for token in credentials:
        rt.wallet.add(HeldCredential.from_token(token))
    return publication


async def publish(rt: Runtime, publication: Publication, catalog_urls: list[str]) -> Publication:
    """Submit the VP-JWT to every catalogue; each answer (admitted, pending, rejected with checks) is kept."""
    for url in catalog_urls:
        try:
            answer = await rt.peers.send(
                "POST",
                url.rstrip("/") + "/api/v1/self-descriptions",
                audience=None,
                raw=(publication.presentation.encode(), "application/vp+jwt"),
            )
        except (PeerUnreachable, EgressDenied) as exc:
            publication.catalogs[url] = {"status": "unreachable", "error": exc.message}
            continue
        body = answer.body if isinstance(answer.body, Mapping) else {"detail": answer.text}
        publication.catalogs[url] = {"httpStatus": answer.status, **body}
    return publication


def _presentation(rt: Runtime, credentials: list[str]) -> str:
    now = rt.now()
    vp = build_presentation(rt.identity.did, credentials, presentation_id=f"urn:uuid:{uuid.uuid4()}")
    return sign_vp_jwt(vp, rt.identity.key, kid=rt.identity.kid, issued_at=now)


async def _post(rt: Runtime, url: str, body: dict[str, Any], who: str) -> Mapping[str, Any]:
    try:
        answer = await rt.peers.send("POST", url, audience=None, body=body)
    except (PeerUnreachable, EgressDenied) as exc:
        raise SelfDescriptionFailed(f"{who} at {url} is unreachable: {exc.message}") from exc
    if not answer.ok or not isinstance(answer.body, Mapping) or "credential" not in answer.body:
        detail = answer.body.get("detail") if isinstance(answer.body, Mapping) else answer.text[:300]
        raise SelfDescriptionFailed(f"{who} refused (HTTP {answer.status}): {detail}")
    return answer.body
