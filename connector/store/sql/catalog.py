"""SQL repositories of the provider's catalog side: assets, policy definitions, contract definitions."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain import Asset, ContractDefinition, PolicyDefinition
from connector.store.errors import Conflict, DuplicateKey, NotFound
from connector.store.page import Page
from connector.store.protocols import DEFAULT_LIMIT
from connector.store.sql.rows import insert_if_absent, integrity_errors, row_values, select_one, select_page
from connector.store.sql.tables import ASSETS, CONTRACT_DEFINITIONS, POLICY_DEFINITIONS

_ASSET_BY_ID = select(ASSETS).where(ASSETS.c.id == bindparam("id"))
_POLICY_BY_ID = select(POLICY_DEFINITIONS).where(POLICY_DEFINITIONS.c.id == bindparam("id"))
_DEFINITION_BY_ID = select(CONTRACT_DEFINITIONS).where(CONTRACT_DEFINITIONS.c.id == bindparam("id"))


class SqlAssets:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, asset: Asset) -> None:
        if not await insert_if_absent(self._conn, ASSETS, row_values(asset)):
            raise DuplicateKey(f"asset {asset.id!r} already exists")

    async def get(self, asset_id: str) -> Asset:
        asset = await select_one(self._conn, Asset, _ASSET_BY_ID, {"id": asset_id})
        if asset is None:
            raise NotFound(f"asset {asset_id!r} not found")
        return asset

    async def update(self, asset: Asset) -> None:
        result = await self._conn.execute(update(ASSETS).where(ASSETS.c.id == asset.id).values(row_values(asset)))
        if not result.rowcount:
            raise NotFound(f"asset {asset.id!r} not found")

    async def delete(self, asset_id: str) -> None:
        result = await self._conn.execute(delete(ASSETS).where(ASSETS.c.id == asset_id))
        if not result.rowcount:
            raise NotFound(f"asset {asset_id!r} not found")

    async def list(
        self, *, offset: int = 0, limit: int = DEFAULT_LIMIT, ids: tuple[str, ...] | None = None
    ) -> Page[Asset]:
        statement = select(ASSETS)
        if ids is not None:
            statement = statement.where(ASSETS.c.id.in_(ids))
        order = (ASSETS.c.created_at, ASSETS.c.id)
        return await select_page(self._conn, Asset, statement, offset=offset, limit=limit, order=order)


class SqlPolicyDefinitions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, policy: PolicyDefinition) -> None:
        if not await insert_if_absent(self._conn, POLICY_DEFINITIONS, row_values(policy)):
            raise DuplicateKey(f"policy definition {policy.id!r} already exists")

    async def get(self, policy_id: str) -> PolicyDefinition:
        if (policy := await select_one(self._conn, PolicyDefinition, _POLICY_BY_ID, {"id": policy_id})) is None:
            raise NotFound(f"policy definition {policy_id!r} not found")
        return policy

    async def update(self, policy: PolicyDefinition) -> None:
        statement = update(POLICY_DEFINITIONS).where(POLICY_DEFINITIONS.c.id == policy.id).values(row_values(policy))
        if not (await self._conn.execute(statement)).rowcount:
            raise NotFound(f"policy definition {policy.id!r} not found")

    async def delete(self, policy_id: str) -> None:
        user = await self._conn.scalar(
            select(CONTRACT_DEFINITIONS.c.id)
            .where(
                or_(
                    CONTRACT_DEFINITIONS.c.access_policy_id == policy_id,
                    CONTRACT_DEFINITIONS.c.contract_policy_id == policy_id,
                )
            )
            .limit(1)
        )
        if user is not None:
            raise Conflict(f"policy definition {policy_id!r} is used by contract definition {user!r}")
        with integrity_errors():  # a contract definition added concurrently: the foreign key refuses
            result = await self._conn.execute(delete(POLICY_DEFINITIONS).where(POLICY_DEFINITIONS.c.id == policy_id))
        if not result.rowcount:
            raise NotFound(f"policy definition {policy_id!r} not found")

    async def list(self, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[PolicyDefinition]:
        order = (POLICY_DEFINITIONS.c.created_at, POLICY_DEFINITIONS.c.id)
        return await select_page(
            self._conn, PolicyDefinition, select(POLICY_DEFINITIONS), offset=offset, limit=limit, order=order
        )


class SqlContractDefinitions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _check_policies(self, definition: ContractDefinition) -> None:
        for policy_id in (definition.access_policy_id, definition.contract_policy_id):
            if not await self._conn.scalar(select(exists().where(POLICY_DEFINITIONS.c.id == policy_id))):
                raise NotFound(f"policy definition {policy_id!r} (of contract definition {definition.id!r}) not found")

    async def add(self, definition: ContractDefinition) -> None:
        await self._check_policies(definition)
        with integrity_errors():
            if not await insert_if_absent(self._conn, CONTRACT_DEFINITIONS, row_values(definition)):
                raise DuplicateKey(f"contract definition {definition.id!r} already exists")

    async def get(self, definition_id: str) -> ContractDefinition:
        found = await select_one(self._conn, ContractDefinition, _DEFINITION_BY_ID, {"id": definition_id})
        if (definition := found) is None:
            raise NotFound(f"contract definition {definition_id!r} not found")
        return definition

    async def update(self, definition: ContractDefinition) -> None:
        await self.get(definition.id)
        await self._check_policies(definition)
        statement = (
            update(CONTRACT_DEFINITIONS)
            .where(CONTRACT_DEFINITIONS.c.id == definition.id)
            .values(row_values(definition))
        )
        with integrity_errors():
            await self._conn.execute(statement)

    async def delete(self, definition_id: str) -> None:
        result = await self._conn.execute(
            delete(CONTRACT_DEFINITIONS).where(CONTRACT_DEFINITIONS.c.id == definition_id)
        )
        if not result.rowcount:
            raise NotFound(f"contract definition {definition_id!r} not found")

    async def list(self, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[ContractDefinition]:
        order = (CONTRACT_DEFINITIONS.c.created_at, CONTRACT_DEFINITIONS.c.id)
        return await select_page(
            self._conn, ContractDefinition, select(CONTRACT_DEFINITIONS), offset=offset, limit=limit, order=order
        )
