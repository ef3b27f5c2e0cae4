"""Memory repositories of the provider's catalog side: assets, policy definitions, contract definitions."""

from __future__ import annotations

from connector.domain import Asset, ContractDefinition, PolicyDefinition
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.memory.tables import Tables, detached, page
from connector.store.page import Page
from connector.store.protocols import DEFAULT_LIMIT


class MemoryAssets:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, asset: Asset) -> None:
        if asset.id in self._t.assets:
            raise DuplicateKey(f"asset {asset.id!r} already exists")
        self._t.assets[asset.id] = detached(asset)

    async def get(self, asset_id: str) -> Asset:
        if (asset := self._t.assets.get(asset_id)) is None:
            raise NotFound(f"asset {asset_id!r} not found")
        return detached(asset)

    async def update(self, asset: Asset) -> None:
        await self.get(asset.id)
        self._t.assets[asset.id] = detached(asset)

    async def delete(self, asset_id: str) -> None:
        await self.get(asset_id)
        del self._t.assets[asset_id]

    async def list(
        self, *, offset: int = 0, limit: int = DEFAULT_LIMIT, ids: tuple[str, ...] | None = None
    ) -> Page[Asset]:
        return page(
            self._t.assets.values(),
            offset=offset,
            limit=limit,
            where=lambda a: ids is None or a.id in ids,
            order=lambda a: (a.created_at, a.id),
        )


class MemoryPolicyDefinitions:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, policy: PolicyDefinition) -> None:
        if policy.id in self._t.policies:
            raise DuplicateKey(f"policy definition {policy.id!r} already exists")
        self._t.policies[policy.id] = detached(policy)

    async def get(self, policy_id: str) -> PolicyDefinition:
        if (policy := self._t.policies.get(policy_id)) is None:
            raise NotFound(f"policy definition {policy_id!r} not found")
        return detached(policy)

    async def update(self, policy: PolicyDefinition) -> None:
        await self.get(policy.id)
        self._t.policies[policy.id] = detached(policy)

    async def delete(self, policy_id: str) -> None:
        await self.get(policy_id)
        for definition in self._t.contract_definitions.values():
            if policy_id in (definition.access_policy_id, definition.contract_policy_id):
                raise Conflict(f"policy definition {policy_id!r} is used by contract definition {definition.id!r}")
        del self._t.policies[policy_id]

    async def list(self, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[PolicyDefinition]:
        return page(
            self._t.policies.values(),
            offset=offset,
            limit=limit,
            where=lambda _: True,
            order=lambda p: (p.created_at, p.id),
        )


class MemoryContractDefinitions:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _check_policies(self, definition: ContractDefinition) -> None:
        for policy_id in (definition.access_policy_id, definition.contract_policy_id):
            if policy_id not in self._t.policies:
                raise NotFound(f"policy definition {policy_id!r} (of contract definition {definition.id!r}) not found")

    async def add(self, definition: ContractDefinition) -> None:
        self._check_policies(definition)
        if definition.id in self._t.contract_definitions:
            raise DuplicateKey(f"contract definition {definition.id!r} already exists")
        self._t.contract_definitions[definition.id] = detached(definition)

    async def get(self, definition_id: str) -> ContractDefinition:
        if (definition := self._t.contract_definitions.get(definition_id)) is None:
            raise NotFound(f"contract definition {definition_id!r} not found")
        return detached(definition)

    async def update(self, definition: ContractDefinition) -> None:
        await self.get(definition.id)
        self._check_policies(definition)
        self._t.contract_definitions[definition.id] = detached(definition)

    async def delete(self, definition_id: str) -> None:
        await self.get(definition_id)
        del self._t.contract_definitions[definition_id]

    async def list(self, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[ContractDefinition]:
        return page(
            self._t.contract_definitions.values(),
            offset=offset,
            limit=limit,
            where=lambda _: True,
            order=lambda d: (d.created_at, d.id),
        )
