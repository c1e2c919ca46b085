"""Rewards (``proofdesk.rewards``, ``actions.rewards``): published reward policies, the grants
made under them, and the epochs their vested points were settled in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base, new_id


class RewardPolicy(Base):
    """A reward policy an organization published, found by its content hash; the active one is
    the one grants are decided by."""

    __tablename__ = "reward_policies"
    __table_args__ = (
        UniqueConstraint("organization_id", "policy_hash", name="uq_reward_policies_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    policy_hash: Mapped[str] = mapped_column(String(71))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON
    source: Mapped[str] = mapped_column(Text)  # as published
    published_at: Mapped[datetime] = mapped_column(TZ)
    published_by: Mapped[str] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The ``reward.policy_published`` event of its activation.
    activated_seq: Mapped[int | None] = mapped_column(BigInteger)


class RewardGrant(Base):
    """Points granted to a customer for one (subject, reason). ``status``: ``pending`` until
    ``vests_at``, then ``vested``; ``clawed_back`` when its basis disappeared first. A vested
    grant is settled in the epoch ``epoch`` (its number), once."""

    __tablename__ = "reward_grants"
    __table_args__ = (
        Index("ix_reward_grants_account", "organization_id", "account_id", "granted_at"),
        Index("ix_reward_grants_subject", "organization_id", "subject", "reason"),
        Index("ix_reward_grants_status", "organization_id", "status", "vests_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    account_id: Mapped[str] = mapped_column(ID)
    reason: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(64))
    policy_hash: Mapped[str] = mapped_column(String(71))
    basis_actor_id: Mapped[str | None] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime] = mapped_column(TZ)
    vests_at: Mapped[datetime] = mapped_column(TZ)
    clawed_at: Mapped[datetime | None] = mapped_column(TZ)
    clawback_reason: Mapped[str | None] = mapped_column(String(200))
    grant_seq: Mapped[int] = mapped_column(BigInteger)
    epoch: Mapped[int | None] = mapped_column(Integer)


class RewardEpoch(Base):
    """An epoch settled: the Merkle root of its leaves, and where it was published."""

    __tablename__ = "reward_epochs"
    __table_args__ = (
        UniqueConstraint("organization_id", "number", name="uq_reward_epochs_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[int] = mapped_column(Integer)
    policy_hash: Mapped[str] = mapped_column(String(71))
    closed_at: Mapped[datetime] = mapped_column(TZ)
    root: Mapped[str] = mapped_column(String(66))
    total: Mapped[str] = mapped_column(String(80))  # integer text, token base units
    points: Mapped[int] = mapped_column(BigInteger)
    close_seq: Mapped[int] = mapped_column(BigInteger)
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    distributor: Mapped[str | None] = mapped_column(String(42))
    #: Its number in the distributor, which serves every organization of the deployment.
    chain_epoch: Mapped[int | None] = mapped_column(BigInteger)
    publish_tx: Mapped[str | None] = mapped_column(String(66))
    published_at: Mapped[datetime | None] = mapped_column(TZ)


class RewardLeaf(Base):
    """One account's leaf of an epoch's tree."""

    __tablename__ = "reward_leaves"
    __table_args__ = (
        UniqueConstraint("epoch_id", "leaf_index", name="uq_reward_leaves_index"),
        Index("ix_reward_leaves_account", "organization_id", "account_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    epoch_id: Mapped[int] = mapped_column(ForeignKey("reward_epochs.id"))
    leaf_index: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(ID)
    address: Mapped[str] = mapped_column(String(42))
    amount: Mapped[str] = mapped_column(String(80))  # integer text, token base units
    points: Mapped[int] = mapped_column(Integer)
