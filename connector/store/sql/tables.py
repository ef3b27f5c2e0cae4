"""The SQL schema as SQLAlchemy 2 typed ORM classes. Alembic owns the schema (``connector/store/migrations``);
these classes describe it for queries, and a test checks that autogenerate finds no difference.

Columns are named like the entity fields so a row validates straight into its entity. Enums are stored as
their string values (no native enum types: adding a state must not need a type migration).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations can refer to (and drop) them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zones: values are stored as naive UTC text in one fixed format, so comparisons such as
    ``next_attempt_at <= :now`` stay correct as string comparisons.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store: pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UtcDateTime(),
        str: String(),
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(),
    }


class AssetRow(Base):
    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(primary_key=True)
    title: Mapped[str]
    description: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[Any]]
    content_type: Mapped[str | None]
    data_address: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    properties: Mapped[dict[str, Any]]


class PolicyDefinitionRow(Base):
    __tablename__ = "policy_definitions"

    id: Mapped[str] = mapped_column(primary_key=True)
    policy: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class ContractDefinitionRow(Base):
    __tablename__ = "contract_definitions"

    id: Mapped[str] = mapped_column(primary_key=True)
    access_policy_id: Mapped[str] = mapped_column(ForeignKey("policy_definitions.id"), index=True)
    contract_policy_id: Mapped[str] = mapped_column(ForeignKey("policy_definitions.id"), index=True)
    asset_ids: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]


class NegotiationRow(Base):
    __tablename__ = "negotiations"
    __table_args__ = (
        UniqueConstraint("role", "consumer_pid"),
        UniqueConstraint("role", "provider_pid"),
        Index("ix_negotiations_state_created_at", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    role: Mapped[str]
    consumer_pid: Mapped[str | None]
    provider_pid: Mapped[str | None]
    counter_party_id: Mapped[str] = mapped_column(index=True)
    counter_party_address: Mapped[str] = mapped_column(Text)
    state: Mapped[str]
    offers: Mapped[list[Any]]
    agreement: Mapped[dict[str, Any] | None]
    agreement_id: Mapped[str | None]
    asset_id: Mapped[str]
    error: Mapped[dict[str, Any] | None]
    pending: Mapped[bool]
    version: Mapped[int]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class AgreementRow(Base):
    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(primary_key=True)
    negotiation_id: Mapped[str] = mapped_column(ForeignKey("negotiations.id"), index=True)
    asset_id: Mapped[str] = mapped_column(index=True)
    provider_id: Mapped[str]
    consumer_id: Mapped[str]
    policy: Mapped[dict[str, Any]]
    signed_at: Mapped[dt.datetime]


class TransferRow(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("role", "consumer_pid"),
        UniqueConstraint("role", "provider_pid"),
        Index("ix_transfers_state_created_at", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    role: Mapped[str]
    consumer_pid: Mapped[str | None]
    provider_pid: Mapped[str | None]
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    asset_id: Mapped[str]
    counter_party_id: Mapped[str] = mapped_column(index=True)
    counter_party_address: Mapped[str] = mapped_column(Text)
    callback_address: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str]
    state: Mapped[str]
    data_address: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    pending: Mapped[bool]
    version: Mapped[int]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class OutboxRow(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The claim query: pending messages in due order.
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_messages_process", "process_kind", "process_id"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    process_kind: Mapped[str]
    process_id: Mapped[str]
    message_type: Mapped[str]
    target_url: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]]
    attempts: Mapped[int]
    next_attempt_at: Mapped[dt.datetime]
    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[dt.datetime | None]
    status: Mapped[str]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class IdempotencyRow(Base):
    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(primary_key=True)
    request_hash: Mapped[str]
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class JtiRow(Base):
    __tablename__ = "jti_records"

    jti: Mapped[str] = mapped_column(primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


# The Core ``Table`` of each class (``Row.__table__`` is typed as a bare FromClause).
ASSETS = Base.metadata.tables[AssetRow.__tablename__]
POLICY_DEFINITIONS = Base.metadata.tables[PolicyDefinitionRow.__tablename__]
CONTRACT_DEFINITIONS = Base.metadata.tables[ContractDefinitionRow.__tablename__]
NEGOTIATIONS = Base.metadata.tables[NegotiationRow.__tablename__]
AGREEMENTS = Base.metadata.tables[AgreementRow.__tablename__]
TRANSFERS = Base.metadata.tables[TransferRow.__tablename__]
OUTBOX_MESSAGES = Base.metadata.tables[OutboxRow.__tablename__]
IDEMPOTENCY_RECORDS = Base.metadata.tables[IdempotencyRow.__tablename__]
JTI_RECORDS = Base.metadata.tables[JtiRow.__tablename__]


class LedgerRow(Base):
    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str]
    at: Mapped[str]
    agreement_id: Mapped[str | None] = mapped_column(index=True)
    transfer_id: Mapped[str | None] = mapped_column(index=True)
    counterparty: Mapped[str | None]
    data: Mapped[dict[str, Any]]
    prev: Mapped[str]
    digest: Mapped[str]
    signature: Mapped[str] = mapped_column(Text)


class UsageRow(Base):
    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_agreement_id_state", "agreement_id", "state"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    agreement_id: Mapped[str]
    transfer_id: Mapped[str] = mapped_column(index=True)
    consumer: Mapped[str]
    state: Mapped[str]
    purpose: Mapped[str | None]
    bytes: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str | None]
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class ClaimsSnapshotRow(Base):
    __tablename__ = "claims_snapshots"

    transfer_id: Mapped[str] = mapped_column(primary_key=True)
    consumer: Mapped[str]
    claims: Mapped[dict[str, Any]]
    seen_at: Mapped[dt.datetime]


class ObligationRow(Base):
    __tablename__ = "obligations"

    id: Mapped[str] = mapped_column(primary_key=True)
    agreement_id: Mapped[str] = mapped_column(index=True)
    transfer_id: Mapped[str | None] = mapped_column(index=True)
    side: Mapped[str]
    action: Mapped[str]
    state: Mapped[str]
    due_at: Mapped[dt.datetime | None]
    details: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


LEDGER_ENTRIES = Base.metadata.tables[LedgerRow.__tablename__]
USAGE_RECORDS = Base.metadata.tables[UsageRow.__tablename__]
CLAIMS_SNAPSHOTS = Base.metadata.tables[ClaimsSnapshotRow.__tablename__]
OBLIGATIONS = Base.metadata.tables[ObligationRow.__tablename__]
