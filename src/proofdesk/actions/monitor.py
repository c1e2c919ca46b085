"""The monitor's writes: the partner logs it follows, what it saw of each, and the split views
it found (both notes kept as evidence). Not ticket events: our state about other logs."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from proofdesk.canonical import format_time, utc_now
from proofdesk.errors import InvalidInput
from proofdesk.store.models import MonitoredLog, SplitViewEvidence
from proofdesk.verify.errors import NoteError
from proofdesk.verify.note import Verifier

log = logging.getLogger("proofdesk.monitor")


def do_add_monitored_log(
    session: Session, origin: str, url: str, verifier_key: str
) -> MonitoredLog:
    """Follow the log ``origin`` at the tiles prefix ``url``, signed by ``verifier_key``. Adding
    a known origin again changes its URL (what it has seen so far stays, and is what the log at
    the new URL must be consistent with) but never its key."""
    try:
        Verifier.parse(verifier_key)
    except NoteError as exc:
        raise InvalidInput(f"verifier key: {exc}", code="invalid_verifier_key") from None
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("the URL must be http(s)://… (the log's tiles prefix)", code="bad_url")
    row = session.get(MonitoredLog, origin)
    if row is None:
        row = MonitoredLog(origin=origin, verifier_key=verifier_key.strip(), size=0, root=None)
        session.add(row)
    elif row.verifier_key != verifier_key.strip():
        raise InvalidInput(f"{origin} is monitored with another key", code="log_key_differs")
    row.url = url.rstrip("/")
    session.flush()
    return row


def do_record_checkpoint_seen(
    session: Session, origin: str, seen: int, size: int, root: bytes, note: str
) -> bool:
    """Move the log's latest checked checkpoint from size ``seen`` to this one (compare-and-set:
    False if another monitor moved it meanwhile)."""
    row = session.get(MonitoredLog, origin)
    if row is None or row.size != seen:
        return False
    row.size, row.root, row.note = size, root, note
    row.checked_at, row.last_error = format_time(utc_now()), None
    session.flush()
    return True


def do_record_monitor_failure(session: Session, origin: str, message: str) -> None:
    row = session.get(MonitoredLog, origin)
    if row is not None:
        row.last_error, row.checked_at = message[:2000], format_time(utc_now())
        session.flush()


def do_record_split_view(
    session: Session, origin: str, kind: str, earlier: str, later: str, detail: str
) -> SplitViewEvidence:
    """Keep two contradicting checkpoints of one log; loud."""
    log.error("monitor: split view of %s (%s): %s", origin, kind, detail)
    evidence = SplitViewEvidence(
        origin=origin,
        kind=kind,
        earlier_note=earlier,
        later_note=later,
        detail=detail[:2000],
        found_at=format_time(utc_now()),
    )
    session.add(evidence)
    row = session.get(MonitoredLog, origin)
    if row is not None:
        row.last_error = f"split view ({kind}): {detail}"[:2000]
    session.flush()
    return evidence
