"""The log's signing key and its signed checkpoints.

A checkpoint covers a committed size of the log: every leaf below it is final, so it can be
drafted in a read transaction and stored under the sequencer lock after re-checking that no
other checkpoint was stored meanwhile (``draft``, then ``store``). Before signing, the new root
is checked against the latest signed checkpoint with a consistency proof from the stored tree:
if the stored tree no longer extends what the log has already signed, it refuses (:class:`LedgerError`) rather than sign a
fork. Checkpoints are kept; there is at most one per size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.canonical import format_time, utc_now
from proofdesk.errors import ConfigError
from proofdesk.ledger.keyfiles import read_or_create_private, read_private
from proofdesk.ledger.store import log_size, tree
from proofdesk.ledger.tree import LedgerError
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import SignedCheckpoint
from proofdesk.verify.merkle import ProofError, verify_consistency
from proofdesk.verify.note import Checkpoint, NoteError, Signer, sign_note

log = logging.getLogger("proofdesk.ledger")


def load_or_create_signer(path: Path, origin: str | None, default_origin: str) -> Signer:
    """The signer key at ``path``; generated (mode 0600) if the file does not exist. With no
    ``origin`` configured, an existing key's name is the origin, and a new key is named
    ``default_origin``: the origin is chosen once, not re-derived from the address each time."""
    if origin is None and path.is_file():
        return _parse_signer(path, read_private(path, "log_key_file"), None)
    name = origin or default_origin
    try:
        Signer.generate(name)
    except NoteError as exc:
        raise ConfigError(f"log_origin {name!r}: {exc}", key="log_origin") from None
    text = read_or_create_private(
        path, "log_key_file", lambda: Signer.generate(name).encode() + "\n"
    )
    return _parse_signer(path, text, name)


def _parse_signer(path: Path, text: str, origin: str | None) -> Signer:
    try:
        signer = Signer.parse(text)
    except NoteError as exc:
        raise ConfigError(
            f"the log key {path} is not a signer key: {exc}", key="log_key_file"
        ) from None
    if origin is not None and signer.name != origin:
        raise ConfigError(
            f"the log key {path} is for origin {signer.name!r}, not {origin!r}",
            key="log_origin",
        )
    return signer


def signer_for(settings: Settings) -> Signer:
    return load_or_create_signer(
        settings.effective_log_key_file, settings.log_origin, settings.default_log_origin
    )


def latest(session: Session) -> SignedCheckpoint | None:
    return session.scalars(
        select(SignedCheckpoint).order_by(SignedCheckpoint.size.desc()).limit(1)
    ).first()


def at_least(session: Session, size: int) -> SignedCheckpoint | None:
    """The oldest signed checkpoint of at least ``size`` leaves."""
    return session.scalars(
        select(SignedCheckpoint)
        .where(SignedCheckpoint.size >= size)
        .order_by(SignedCheckpoint.size)
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Draft:
    """A checkpoint signed but not yet stored, and the checkpoint it was checked against."""

    size: int
    root: bytes
    note: str
    after: int | None


def draft(session: Session, signer: Signer) -> Draft | SignedCheckpoint:
    """Sign the tree at the log's current size, after checking that it extends the latest
    checkpoint; that checkpoint itself when it already covers the log. Reads only, so it can
    run outside :meth:`Database.writer`: every leaf below a committed size is final."""
    size = log_size(session)
    last = latest(session)
    if last is not None and last.size > size:
        raise LedgerError(f"a checkpoint of size {last.size} exceeds the log size {size}")
    if last is not None and last.size == size:
        return last
    t = tree(session, size)
    root = t.root(size)
    if last is not None:
        try:
            verify_consistency(
                last.size, size, last.root, root, t.consistency_proof(last.size, size)
            )
        except ProofError as exc:
            raise LedgerError(
                f"the stored tree does not extend the checkpoint of size {last.size}: {exc}; "
                "refusing to sign (run `proofdesk audit`)"
            ) from None
    note = sign_note(Checkpoint(signer.name, size, root).text(), signer)
    return Draft(size, root, note, None if last is None else last.size)


def store(session: Session, signed: Draft) -> SignedCheckpoint | None:
    """Keep a drafted checkpoint, unless the latest one has moved since it was drafted (then
    None: another signer got there first, or the draft was checked against an older one).
    Must run in :meth:`Database.writer`, whose lock makes the re-check final."""
    last = latest(session)
    if (None if last is None else last.size) != signed.after:
        return None
    row = SignedCheckpoint(
        size=signed.size, root=signed.root, note=signed.note, issued_at=format_time(utc_now())
    )
    session.add(row)
    session.flush()
    return row


def issue(session: Session, signer: Signer) -> SignedCheckpoint:
    """Sign the current tree unless the latest checkpoint already covers it. Must run in
    :meth:`Database.writer`."""
    made = draft(session, signer)
    if isinstance(made, SignedCheckpoint):
        return made
    row = store(session, made)
    if row is None:  # cannot happen under the writer lock, which the caller holds
        raise LedgerError("the latest checkpoint moved while signing; run it again")
    return row


def ensure(db: Database, signer: Signer, size: int) -> SignedCheckpoint:
    """A signed checkpoint covering at least ``size`` leaves, signing one if need be."""
    with db.reader() as session:
        found = at_least(session, size)
    if found is not None:
        return found
    with db.writer() as session:
        return issue(session, signer)
