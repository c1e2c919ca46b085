"""The transparency log: leaves, stored Merkle nodes, ticket secrets, signed checkpoints
(see :mod:`proofdesk.ledger`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    LargeBinary,
    SmallInteger,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TIME_TEXT, Base


class LedgerLeaf(Base):
    """The leaf record of event ``seq``: canonical JSON, hashed into the Merkle tree."""

    __tablename__ = "ledger_leaves"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    record: Mapped[str] = mapped_column(Text)


class MerkleNode(Base):
    """A complete subtree: leaves ``[idx * 2**level, (idx + 1) * 2**level)``."""

    __tablename__ = "merkle_nodes"
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TicketSecret(Base):
    """A ticket's secret, wrapped under the data key (see ``ledger.keys``). ``wrapped`` is
    None once the ticket is erased: its sealed content and commitments can never be opened."""

    __tablename__ = "ticket_secrets"
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Leaf hash of the ticket's latest event: the ``prev`` of its next one.
    chain_head: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    erased_at: Mapped[str | None] = mapped_column(TIME_TEXT)


class SignedCheckpoint(Base):
    """A checkpoint the log signed. The log never signs two inconsistent ones."""

    __tablename__ = "checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[str] = mapped_column(TIME_TEXT)
