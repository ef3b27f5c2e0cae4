"""Offers: what a contract definition makes of an asset, with a stable, unique ``@id`` (DSP 2025-1 §catalog).

An offer id is ``<contract definition>:<asset>:<policy digest>`` (each part percent-encoded), the same shape EDC and
the TCK use (``CD123:ACN0101:456``). The digest makes an offer id change when its policy changes, so a consumer that
negotiates an outdated offer is told so instead of agreeing to terms that no longer exist.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from connector.domain import Asset, ContractDefinition, PolicyDefinition
from connector.errors import ConnectorError
from connector.services.policy_engine import PolicyEngine
from policies import to_jsonld


class OfferNotFound(ConnectorError):
    code = "offer-not-found"


@dataclass(frozen=True)
class OfferRef:
    definition_id: str
    asset_id: str
    digest: str


def policy_digest(policy: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(policy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]


def offer_id(definition: ContractDefinition, asset_id: str, contract_policy: PolicyDefinition) -> str:
    return ":".join((quote(definition.id, safe=""), quote(asset_id, safe=""), policy_digest(contract_policy.policy)))


def parse_offer_id(value: str) -> OfferRef:
    parts = value.split(":")
    if len(parts) != 3 or not all(parts):
        raise OfferNotFound(f"{value!r} is not an offer of this connector")
    return OfferRef(unquote(parts[0]), unquote(parts[1]), parts[2])


def dsp_offer(
    engine: PolicyEngine,
    contract_policy: PolicyDefinition,
    *,
    offer_id: str,
    assigner: str,
    target: str | None = None,
) -> dict[str, Any]:
    """The contract policy as a DSP 2025-1 ``Offer`` (compact, no ``@context``); ``target`` only outside catalogs."""
    body = copy.deepcopy(to_jsonld(engine.parse(contract_policy.policy), context="dsp"))
    body.pop("@context", None)
    body.pop("target", None)
    body["@id"] = offer_id
    body["@type"] = "Offer"
    body["assigner"] = assigner
    if target is not None:
        body["target"] = target
    return body


def offered_for(definition: ContractDefinition, asset: Asset) -> bool:
    return asset.id in definition.asset_ids
