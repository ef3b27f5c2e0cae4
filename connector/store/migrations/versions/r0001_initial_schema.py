"""Initial schema: catalog (assets, policy and contract definitions), DSP processes (negotiations,
agreements, transfers), outbox, idempotency keys and seen token ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:12:28.143758
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=True),
        sa.Column("data_address", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("request_hash", sa.String(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_records")),
    )
    op.create_index(op.f("ix_idempotency_records_created_at"), "idempotency_records", ["created_at"], unique=False)
    op.create_table(
        "jti_records",
        sa.Column("jti", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_jti_records")),
    )
    op.create_index(op.f("ix_jti_records_expires_at"), "jti_records", ["expires_at"], unique=False)
    op.create_table(
        "negotiations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("consumer_pid", sa.String(), nullable=True),
        sa.Column("provider_pid", sa.String(), nullable=True),
        sa.Column("counter_party_id", sa.String(), nullable=False),
        sa.Column("counter_party_address", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("agreement", sa.JSON(), nullable=True),
        sa.Column("agreement_id", sa.String(), nullable=True),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_negotiations")),
        sa.UniqueConstraint("role", "consumer_pid", name=op.f("uq_negotiations_role_consumer_pid")),
        sa.UniqueConstraint("role", "provider_pid", name=op.f("uq_negotiations_role_provider_pid")),
    )
    op.create_index(op.f("ix_negotiations_counter_party_id"), "negotiations", ["counter_party_id"], unique=False)
    op.create_index("ix_negotiations_state_created_at", "negotiations", ["state", "created_at"], unique=False)
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("process_kind", sa.String(), nullable=False),
        sa.Column("process_id", sa.String(), nullable=False),
        sa.Column("message_type", sa.String(), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index("ix_outbox_messages_process", "outbox_messages", ["process_kind", "process_id"], unique=False)
    op.create_index(
        "ix_outbox_messages_status_next_attempt_at", "outbox_messages", ["status", "next_attempt_at"], unique=False
    )
    op.create_table(
        "policy_definitions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_definitions")),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("negotiation_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("consumer_id", sa.String(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["negotiation_id"], ["negotiations.id"], name=op.f("fk_agreements_negotiation_id_negotiations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_index(op.f("ix_agreements_asset_id"), "agreements", ["asset_id"], unique=False)
    op.create_index(op.f("ix_agreements_negotiation_id"), "agreements", ["negotiation_id"], unique=False)
    op.create_table(
        "contract_definitions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("access_policy_id", sa.String(), nullable=False),
        sa.Column("contract_policy_id", sa.String(), nullable=False),
        sa.Column("asset_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["access_policy_id"],
            ["policy_definitions.id"],
            name=op.f("fk_contract_definitions_access_policy_id_policy_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_policy_id"],
            ["policy_definitions.id"],
            name=op.f("fk_contract_definitions_contract_policy_id_policy_definitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_definitions")),
    )
    op.create_index(
        op.f("ix_contract_definitions_access_policy_id"), "contract_definitions", ["access_policy_id"], unique=False
    )
    op.create_index(
        op.f("ix_contract_definitions_contract_policy_id"), "contract_definitions", ["contract_policy_id"], unique=False
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("consumer_pid", sa.String(), nullable=True),
        sa.Column("provider_pid", sa.String(), nullable=True),
        sa.Column("agreement_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("counter_party_id", sa.String(), nullable=False),
        sa.Column("counter_party_address", sa.Text(), nullable=False),
        sa.Column("callback_address", sa.Text(), nullable=True),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("data_address", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], name=op.f("fk_transfers_agreement_id_agreements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("role", "consumer_pid", name=op.f("uq_transfers_role_consumer_pid")),
        sa.UniqueConstraint("role", "provider_pid", name=op.f("uq_transfers_role_provider_pid")),
    )
    op.create_index(op.f("ix_transfers_agreement_id"), "transfers", ["agreement_id"], unique=False)
    op.create_index(op.f("ix_transfers_counter_party_id"), "transfers", ["counter_party_id"], unique=False)
    op.create_index("ix_transfers_state_created_at", "transfers", ["state", "created_at"], unique=False)


def downgrade() -> None:
    # Dependents first (foreign keys); dropping a table drops its indexes.
    op.drop_table("transfers")
    op.drop_table("contract_definitions")
    op.drop_table("agreements")
    op.drop_table("policy_definitions")
    op.drop_table("outbox_messages")
    op.drop_table("negotiations")
    op.drop_table("jti_records")
    op.drop_table("idempotency_records")
    op.drop_table("assets")
