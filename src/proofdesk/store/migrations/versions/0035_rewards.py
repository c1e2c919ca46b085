"""Rewards: published reward policies, grants, and the epochs (with their leaves) that settle
vested points.

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reward_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("policy_hash", sa.String(length=71), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("published_by", sa.String(length=36), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reward_policies_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_policies")),
        sa.UniqueConstraint("organization_id", "policy_hash", name="uq_reward_policies_hash"),
    )
    op.create_index("ix_reward_policies_organization_id", "reward_policies", ["organization_id"])
    op.create_table(
        "reward_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("policy_hash", sa.String(length=71), nullable=False),
        sa.Column("basis_actor_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("granted_at", TZ, nullable=False),
        sa.Column("vests_at", TZ, nullable=False),
        sa.Column("clawed_at", TZ, nullable=True),
        sa.Column("clawback_reason", sa.String(length=200), nullable=True),
        sa.Column("grant_seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reward_grants_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_grants")),
    )
    op.create_index(
        "ix_reward_grants_account", "reward_grants", ["organization_id", "account_id", "granted_at"]
    )
    op.create_index(
        "ix_reward_grants_subject", "reward_grants", ["organization_id", "subject", "reason"]
    )
    op.create_index(
        "ix_reward_grants_status", "reward_grants", ["organization_id", "status", "vests_at"]
    )
    op.create_table(
        "reward_epochs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("policy_hash", sa.String(length=71), nullable=False),
        sa.Column("closed_at", TZ, nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("total", sa.String(length=80), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("close_seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("distributor", sa.String(length=42), nullable=True),
        sa.Column("chain_epoch", sa.BigInteger(), nullable=True),
        sa.Column("publish_tx", sa.String(length=66), nullable=True),
        sa.Column("published_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reward_epochs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_epochs")),
        sa.UniqueConstraint("organization_id", "number", name="uq_reward_epochs_number"),
    )
    op.create_table(
        "reward_leaves",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("epoch_id", sa.Integer(), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.String(length=80), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reward_leaves_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["epoch_id"], ["reward_epochs.id"], name=op.f("fk_reward_leaves_epoch_id_reward_epochs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_leaves")),
        sa.UniqueConstraint("epoch_id", "leaf_index", name="uq_reward_leaves_index"),
    )
    op.create_index("ix_reward_leaves_account", "reward_leaves", ["organization_id", "account_id"])


def downgrade() -> None:
    op.drop_table("reward_leaves")
    op.drop_table("reward_epochs")
    op.drop_table("reward_grants")
    op.drop_table("reward_policies")
