"""Our log's witnesses: who they are, the cosignatures they gave, the notes we serve with them.

Witnesses come from ``log_witnesses`` (``"<add-checkpoint prefix URL> <vkey>"`` each). The
``witnessing`` worker (``workers/witnessing.py``) sends each new checkpoint to each of them
with the consistency proof from the size it last cosigned; their cosignature lines are kept in
``checkpoint_cosignatures`` and appended, in the order of ``log_witnesses``, to the note that
``/api/v1/log/checkpoint`` and receipts carry (the signed-note format allows any number of
signature lines; verifiers ignore the keys they do not know). A checkpoint is *witnessed* when
``log_witness_quorum`` of them cosigned it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.errors import ConfigError
from proofdesk.settings import Settings
from proofdesk.store.models import CheckpointCosignature, SignedCheckpoint
from proofdesk.verify.cosignature import CosignerKey
from proofdesk.verify.errors import NoteError


@dataclass(frozen=True)
class Witness:
    url: str
    key: CosignerKey

    @property
    def id(self) -> str:
        return self.key.encode()


def configured_witnesses(settings: Settings) -> list[Witness]:
    """The witnesses of ``log_witnesses``; :class:`ConfigError` naming a bad entry."""
    out = []
    for entry in settings.log_witnesses:
        url, _, vkey = entry.strip().partition(" ")
        if not url.startswith(("http://", "https://")) or not vkey.strip():
            raise ConfigError(
                f"log_witnesses entry {entry!r} is not '<http(s) URL> <vkey>'", key="log_witnesses"
            )
        try:
            key = CosignerKey.parse(vkey.strip())
        except NoteError as exc:
            raise ConfigError(
                f"log_witnesses entry {entry!r}: {exc}", key="log_witnesses"
            ) from None
        out.append(Witness(url.rstrip("/"), key))
    if out and settings.log_witness_quorum > len(out):
        raise ConfigError(
            f"log_witness_quorum {settings.log_witness_quorum} is more than the "
            f"{len(out)} log_witnesses",
            key="log_witness_quorum",
        )
    return out


def cosigned_note(session: Session, row: SignedCheckpoint) -> str:
    """The checkpoint's note with the cosignatures we hold for it (oldest witness first)."""
    lines = session.scalars(
        select(CheckpointCosignature.line)
        .where(CheckpointCosignature.size == row.size)
        .order_by(CheckpointCosignature.witness)
    ).all()
    return row.note + "".join(lines)


def witnessed_at_least(
    session: Session, size: int, witnesses: list[Witness], quorum: int
) -> SignedCheckpoint | None:
    """The smallest checkpoint of at least ``size`` leaves that ``quorum`` of ``witnesses``
    cosigned (None without witnesses)."""
    if not witnesses or quorum < 1:
        return None
    witnessed = (
        select(CheckpointCosignature.size)
        .where(CheckpointCosignature.size >= size)
        .where(CheckpointCosignature.witness.in_([w.id for w in witnesses]))
        .group_by(CheckpointCosignature.size)
        .having(func.count() >= quorum)
        .order_by(CheckpointCosignature.size)
        .limit(1)
        .scalar_subquery()
    )
    return session.scalars(
        select(SignedCheckpoint).where(SignedCheckpoint.size == witnessed)
    ).first()


@dataclass(frozen=True)
class WitnessPolicy:
    """k of n: the witnesses whose cosignatures count, and how many make a checkpoint
    witnessed. Without witnesses every checkpoint is as good as any other."""

    witnesses: tuple[Witness, ...] = ()
    quorum: int = 1

    @classmethod
    def of(cls, settings: Settings) -> WitnessPolicy:
        return cls(tuple(configured_witnesses(settings)), settings.log_witness_quorum)

    def witnessed(self, session: Session, size: int) -> SignedCheckpoint | None:
        return witnessed_at_least(session, size, list(self.witnesses), self.quorum)
