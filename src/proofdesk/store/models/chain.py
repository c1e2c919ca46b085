"""Deployed contracts and the anchors of checkpoints on chain (see :mod:`proofdesk.chain`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TIME_TEXT, Base


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


class ChainRequestDraft(Base):
    """What a customer means to file on chain: the content of a request, kept until a
    ``Filed`` event of the request inbox commits to it (then ``ticket_id`` is set) or until it
    expires. Only its commitment goes on chain."""

    __tablename__ = "chain_request_drafts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ID)
    requester_id: Mapped[str] = mapped_column(ID)
    commitment: Mapped[str] = mapped_column(String(66))
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the request's fields
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    expires_at: Mapped[str] = mapped_column(TIME_TEXT)
    ticket_id: Mapped[str | None] = mapped_column(ID)

    __table_args__ = (
        UniqueConstraint(
            "organization_id", "requester_id", "commitment", name="uq_chain_request_drafts"
        ),
        Index("ix_chain_request_drafts_commitment", "commitment"),
    )


class ChainFiling(Base):
    """One ``Filed`` event of the request inbox, once it is deep enough to be final.

    ``status``: ``opened`` (it opened a ticket from a draft), ``linked`` (it committed to a
    request already open), ``unmatched`` (no draft or request of the sender's matches yet; looked
    at again until the drafts it could match have expired), ``refused`` (not for an
    organization here, or the sender is not a verified wallet of the draft's customer),
    ``dropped`` (its block left the canonical chain in a reorganisation after it was final)."""

    __tablename__ = "chain_filings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract: Mapped[str] = mapped_column(String(42))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[str] = mapped_column(TIME_TEXT)
    sender: Mapped[str] = mapped_column(String(42))
    organization_key: Mapped[str] = mapped_column(String(66))
    commitment: Mapped[str] = mapped_column(String(66))
    pointer: Mapped[str] = mapped_column(Text)  # 0x-hex, "0x" when empty
    number: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    organization_id: Mapped[str | None] = mapped_column(ID)
    ticket_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_chain_filings_log"),
        Index("ix_chain_filings_status", "status"),
        Index("ix_chain_filings_block", "chain_id", "block_number"),
    )


class ChainScan(Base):
    """How far the request inbox of one contract on one chain has been read: every block
    below ``next_block`` is done."""

    __tablename__ = "chain_scans"
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_block: Mapped[int] = mapped_column(BigInteger)
