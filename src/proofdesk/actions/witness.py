"""The witness's writes: the logs it witnesses, its cosignatures, the refusals it keeps.

These are not ticket events: they are the witness's own state about other logs (C2SP
tlog-witness asks it to keep, per log, only the latest checkpoint it cosigned), so they do
not go into our Merkle log. See :mod:`proofdesk.ledger.witness` for the protocol's checks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from proofdesk.canonical import format_time, utc_now
from proofdesk.errors import Conflict, Error, InvalidInput
from proofdesk.ledger.witness import (
    AddCheckpoint,
    BadConsistencyProof,
    BadLogSignature,
    BadRequest,
    SizeConflict,
    UnknownLog,
)
from proofdesk.store.db import Database
from proofdesk.store.models import WitnessedLog, WitnessRefusal
from proofdesk.verify.cosignature import Cosigner
from proofdesk.verify.errors import NoteError, ProofError
from proofdesk.verify.merkle import verify_consistency
from proofdesk.verify.note import Signature, Verifier, open_note

log = logging.getLogger("proofdesk.witness")


def do_add_witnessed_log(session: Session, origin: str, verifier_key: str) -> WitnessedLog:
    """Start witnessing the log ``origin`` signed by ``verifier_key`` (a vkey). Adding the same
    pair again changes nothing; another key for a known origin is refused."""
    try:
        Verifier.parse(verifier_key)
    except NoteError as exc:
        raise InvalidInput(f"verifier key: {exc}", code="invalid_verifier_key") from None
    if not origin or len(origin) > 255 or any(c.isspace() for c in origin):
        raise InvalidInput("an origin is 1 to 255 characters without spaces", code="bad_origin")
    row = session.get(WitnessedLog, origin)
    if row is not None:
        if row.verifier_key != verifier_key.strip():
            raise Conflict(f"{origin} is witnessed with another key", code="log_key_differs")
        return row
    row = WitnessedLog(
        origin=origin,
        verifier_key=verifier_key.strip(),
        size=0,
        root=None,
        added_at=format_time(utc_now()),
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class _Known:
    size: int
    root: bytes | None
    verifier_key: str


def _check(known: _Known, request: AddCheckpoint) -> None:
    """The checks after the signature, in the spec's order (see ``ledger.witness``)."""
    cp = request.checkpoint
    if request.old > cp.size:
        raise BadRequest(f"old size {request.old} is above the checkpoint size {cp.size}")
    if request.old != known.size:
        raise SizeConflict(f"the latest cosigned size is {known.size}", known.size)
    if known.root is None:  # never cosigned: nothing to be consistent with
        if request.proof:
            raise BadConsistencyProof("the proof from size 0 must be empty")
        return
    if request.old == cp.size:
        if cp.root != known.root:
            raise SizeConflict(f"size {cp.size} was cosigned with another root", known.size)
        return
    try:
        verify_consistency(request.old, cp.size, known.root, cp.root, request.proof)
    except ProofError as exc:
        raise BadConsistencyProof(f"consistency proof from {request.old}: {exc}") from None


def _misbehaviour(known: _Known, request: AddCheckpoint, error: Error) -> str | None:
    """What a refused, validly signed checkpoint shows about the log, if anything."""
    cp = request.checkpoint
    if known.root is None:
        return None
    if cp.size < known.size:
        return "rollback"
    if cp.size == known.size and cp.root != known.root:
        return "fork"
    if isinstance(error, BadConsistencyProof) and request.old == known.size:
        return "bad_proof"  # the new tree does not extend what we cosigned
    return None


def do_add_checkpoint(
    db: Database, cosigner: Cosigner, request: AddCheckpoint, timestamp: int
) -> Signature:
    """Check a submitted checkpoint and, if it passes, record it as the latest cosigned and
    return our cosignature. Reads and checks outside the write lock; the update is a
    compare-and-set on the size and root that were checked, so a concurrent request that
    got there first makes this one a 409."""
    cp = request.checkpoint
    with db.reader() as session:
        row = session.get(WitnessedLog, cp.origin)
        if row is None:
            raise UnknownLog(f"this witness does not know the log {cp.origin!r}")
        known = _Known(row.size, None if row.root is None else bytes(row.root), row.verifier_key)
    try:
        text = open_note(request.note, Verifier.parse(known.verifier_key))
    except NoteError as exc:
        raise BadLogSignature(f"no signature by the log's key verifies: {exc}") from None
    try:
        _check(known, request)
    except Error as exc:
        kind = _misbehaviour(known, request, exc)
        if kind is not None:
            _refused(db, cp.origin, kind, cp.size, known.size, request.note)
        raise
    with db.writer() as session:
        same_root = (
            WitnessedLog.root.is_(None) if known.root is None else WitnessedLog.root == known.root
        )
        result = session.execute(
            update(WitnessedLog)
            .where(WitnessedLog.origin == cp.origin, WitnessedLog.size == known.size, same_root)
            .values(size=cp.size, root=cp.root, cosigned_at=format_time(utc_now()))
        )
        if getattr(result, "rowcount", 0) != 1:
            now = session.get(WitnessedLog, cp.origin)
            size = 0 if now is None else now.size
            raise SizeConflict(f"the latest cosigned size is now {size}", size)
    return cosigner.cosign(text, timestamp)


def _refused(db: Database, origin: str, kind: str, size: int, cosigned: int, note: str) -> None:
    log.error(
        "witness: refused a %s from %s: checkpoint of size %d, we cosigned size %d",
        kind,
        origin,
        size,
        cosigned,
    )
    with db.writer() as session:
        session.add(
            WitnessRefusal(
                origin=origin,
                kind=kind,
                size=size,
                cosigned_size=cosigned,
                note=note,
                at=format_time(utc_now()),
            )
        )
