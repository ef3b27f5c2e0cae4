"""The provider's DSP catalog, computed per requester (DSP 2025-1 §catalog; dsp.md §20 item 5).

Each contract definition's *access* policy is evaluated in the ``catalog`` scope over the requester's verified
claims; the assets of the definitions that permit become datasets whose offers are the *contract* policies (with
usage constraints shown as they are, enforced later). A requester never learns that a hidden offer exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from connector.domain import Asset, ContractDefinition
from connector.dsp import Catalog, DataService, Dataset, ProcessNotFound
from connector.dsp.catalog_builder import DatasetEntry, build_catalog, build_dataset
from connector.services.caller import Caller
from connector.services.offers import dsp_offer, offer_id
from connector.services.runtime import Runtime
from connector.store.page import Page
from connector.store.protocols import Transaction
from policies import Request, World

T = TypeVar("T")
FORMATS = ("HttpData-PULL", "HttpData-PUSH")


async def all_items(fetch: Callable[[int], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    offset: int | None = 0
    while offset is not None:
        page = await fetch(offset)
        for item in page.items:
            yield item
        offset = page.next_offset


class ProviderCatalog:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def data_service(self) -> DataService:
        return DataService.model_validate({"@id": f"{self.rt.identity.did}#dsp", "endpointURL": self.rt.dsp_base_url})

    async def visible_entries(self, tx: Transaction, caller: Caller) -> list[DatasetEntry]:
        """Datasets (with their offers) the caller may see, in asset order."""
        now = self.rt.now()
        world = World(now=now, claims=caller.claims.claims)
        offers: dict[str, list[dict[str, Any]]] = {}
        assets: dict[str, Asset] = {}
        async for definition in all_items(lambda o: tx.contract_definitions.list(offset=o, limit=200)):
            if not definition.asset_ids:
                continue
            access = await tx.policies.get(definition.access_policy_id)
            request = Request(action="use", party=caller.did)
            if self.rt.policies.evaluate(access.policy, "catalog", request, world).decision != "permit":
                continue
            contract = await tx.policies.get(definition.contract_policy_id)
            page = await tx.assets.list(ids=definition.asset_ids, limit=1000)
            for asset in page.items:
                assets[asset.id] = asset
                offers.setdefault(asset.id, []).append(
                    dsp_offer(
                        self.rt.policies,
                        contract,
                        offer_id=offer_id(definition, asset.id, contract),
                        assigner=self.rt.identity.did,
                    )
                )
        return [_entry(assets[asset_id], offers[asset_id]) for asset_id in sorted(assets)]

    async def catalog(self, caller: Caller, *, offset: int = 0, limit: int = 50) -> tuple[Catalog, int]:
        async with self.rt.store.transaction() as tx:
            entries = await self.visible_entries(tx, caller)
        page = entries[offset : offset + limit]
        catalog = build_catalog(
            catalog_id=f"{self.rt.identity.did}#catalog",
            participant_id=self.rt.identity.did,
            service=self.data_service(),
            datasets=page,
        )
        return catalog, len(entries)

    async def dataset(self, caller: Caller, dataset_id: str) -> Dataset:
        async with self.rt.store.transaction() as tx:
            entries = await self.visible_entries(tx, caller)
        for entry in entries:
            if entry.id == dataset_id:
                return build_dataset(entry, self.data_service(), inline_service=True)
        raise ProcessNotFound(f"no dataset {dataset_id!r} is offered to you")


def _entry(asset: Asset, offers: list[dict[str, Any]]) -> DatasetEntry:
    properties: dict[str, Any] = {"title": asset.title}
    if asset.description:
        properties["description"] = asset.description
    if asset.keywords:
        properties["keyword"] = list(asset.keywords)
    return DatasetEntry(id=asset.id, offers=offers, formats=FORMATS, properties=properties)


def definitions_for(definitions: list[ContractDefinition], asset_id: str) -> list[ContractDefinition]:
    return [d for d in definitions if asset_id in d.asset_ids]
