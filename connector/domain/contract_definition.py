"""Contract definitions: which assets are offered under which policies (EDC ``ContractDefinition``, dsp.md §10.4).

``access_policy_id`` decides who sees the offer in the catalog; ``contract_policy_id`` becomes the offer's policy.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity


class ContractDefinition(Entity):
    """Offers ``asset_ids`` under ``contract_policy_id`` to participants that pass ``access_policy_id``."""

    id: str = Field(min_length=1)
    access_policy_id: str
    contract_policy_id: str
    #: The asset selector: explicit asset ids (an empty tuple selects nothing).
    asset_ids: tuple[str, ...] = ()
    created_at: AwareDatetime
