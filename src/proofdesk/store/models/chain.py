"""Deployed contracts and the anchors of checkpoints on chain (see :mod:`proofdesk.chain`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import TIME_TEXT, Base


class ChainContract(Base):
    """A contract ProofDesk deployed (or was told to use) on one chain. A chain that was reset
    gets a new row for the same name; the latest ``id`` is the one in use."""

    __tablename__ = "chain_contracts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(42))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (Index("ix_chain_contracts_chain_name", "chain_id", "name"),)


class Anchor(Base):
    """One anchoring of a signed checkpoint: an outbox row first (the signed transaction is
    stored before it is broadcast, so a restart resubmits the same bytes), then its fate.

    ``status``: ``sent`` (broadcast or about to be), ``mined`` (in a block, not yet deep
    enough), ``confirmed``, ``failed`` (reverted or replaced; a new row retries), ``lost``
    (confirmed once, gone after a reorganisation or chain reset).
    """

    __tablename__ = "anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract: Mapped[str] = mapped_column(String(42))
    origin: Mapped[str] = mapped_column(Text)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str] = mapped_column(String(66))
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_time: Mapped[str | None] = mapped_column(TIME_TEXT)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (
        Index("ix_anchors_status", "status"),
        Index("ix_anchors_chain_size", "chain_id", "tree_size"),
    )
