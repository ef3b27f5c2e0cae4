"""The self-description as the connector would publish it now: built from what it offers, not yet signed.

The inputs are exactly those of :func:`connector.services.self_description.build_and_sign` (the configured profile and
:func:`~connector.services.self_description.offered_datasets`), so the preview shows what "Publish" signs.
"""

from __future__ import annotations

from typing import Any

from connector.services.assembly import Connector
from connector.services.self_description import dataset_slug, offered_datasets
from self_descriptions.build import (
    Address,
    ParticipantProfile,
    RegistrationNumber,
    SelfDescription,
    Validity,
    build_resource,
    build_self_description,
    build_service_offering,
)


def _participant(c: Connector) -> ParticipantProfile:
    rt = c.runtime
    profile = c.profile
    legal_name = profile.legal_name if profile else rt.identity.did
    country = profile.country_code if profile else ""
    numbers = (RegistrationNumber("vatID", profile.vat_id, country),) if profile and profile.vat_id else ()
    return ParticipantProfile(
        did=rt.identity.did,
        base_url=rt.identity.base_url,
        legal_name=legal_name,
        legal_address=Address(country),
        registration_numbers=numbers,
        service_terms_url=profile.terms_url if profile else None,
        service_terms_hash=profile.terms_hash if profile else None,
    )


async def preview(c: Connector) -> SelfDescription:
    """Unsigned credentials; raises ``SelfDescriptionError`` (naming the field) when the profile is incomplete."""
    rt = c.runtime
    return build_self_description(_participant(c), await offered_datasets(rt), validity=Validity.starting(rt.now()))


async def dataset_credentials(c: Connector, asset_id: str) -> list[dict[str, Any]]:
    """The ServiceOffering and VirtualResource credentials of one offered dataset (empty when it is not offered).

    These need no registration number, so a data steward sees them before the participant profile is complete."""
    rt = c.runtime
    slug = dataset_slug(asset_id)
    validity = Validity.starting(rt.now())
    participant = _participant(c)
    return [
        credential
        for dataset in await offered_datasets(rt)
        if dataset.id == slug
        for credential in (
            build_service_offering(participant, dataset, validity),
            build_resource(participant, dataset, validity),
        )
    ]
