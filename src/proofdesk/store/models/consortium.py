"""The consortium: the logs this deployment witnesses, the witnesses of its own log, their
cosignatures and the alerts they raise (see :mod:`proofdesk.ledger.witness`,
``docs/consortium.md``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import TIME_TEXT, Base

KEY = String(400)  # an encoded verifier key: <name>+<id>+<base64>


class WitnessedLog(Base):
    """A log we witness (C2SP tlog-witness): its key, and the latest checkpoint we cosigned
    (``size`` 0 and no root until the first)."""

    __tablename__ = "witnessed_logs"
    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    verifier_key: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    cosigned_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    added_at: Mapped[str] = mapped_column(TIME_TEXT)


class WitnessRefusal(Base):
    """A validly signed checkpoint the witness refused because it would roll back or fork
    what it cosigned: ``kind`` is ``rollback``, ``fork`` or ``bad_proof``; ``note`` (and the
    request's ``proof``) are the evidence."""

    __tablename__ = "witness_refusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    cosigned_size: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (Index("ix_witness_refusals_origin", "origin"),)


class LogWitness(Base):
    """A witness of our own log: what we last know it cosigned (None: not known yet, probe
    with ``old 0``), the last failure to reach it, the last refusal that is an alert."""

    __tablename__ = "log_witnesses"
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    cosigned_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    last_error: Mapped[str | None] = mapped_column(Text)
    alert: Mapped[str | None] = mapped_column(Text)
    alert_at: Mapped[str | None] = mapped_column(TIME_TEXT)


class CheckpointCosignature(Base):
    """A witness's cosignature line (C2SP tlog-cosignature) on our checkpoint of ``size``."""

    __tablename__ = "checkpoint_cosignatures"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(KEY, primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)


class WitnessAlert(Base):
    """A refusal by a witness of our log that means a split view or a rollback: kept."""

    __tablename__ = "witness_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    witness: Mapped[str] = mapped_column(KEY)
    size: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(TIME_TEXT)


class MonitoredLog(Base):
    """A partner's log we follow as a monitor: where its tiles are, its key, and the latest
    checkpoint we saw and checked (``size`` 0 and no root before the first)."""

    __tablename__ = "monitored_logs"
    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    verifier_key: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    note: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    last_error: Mapped[str | None] = mapped_column(Text)


class SplitViewEvidence(Base):
    """Two checkpoints of one log, both validly signed, that cannot both be true: the same size
    with two roots, a later one smaller, or one that is not consistent with the other."""

    __tablename__ = "split_view_evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    earlier_note: Mapped[str] = mapped_column(Text)
    later_note: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    found_at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (Index("ix_split_view_evidence_origin", "origin"),)
