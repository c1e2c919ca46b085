"""Our log's side of witnessing: what each witness last cosigned, its cosignatures, its alerts.

An alert is a witness refusing our checkpoint in a way only a split view or a rollback
explains (it cosigned a larger tree of our origin than we have, or another root at a size we
signed): it is kept (``witness_alerts``), written to the log at ERROR, and shown on the admin
page until the witness cosigns again.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.canonical import format_time, utc_now
from proofdesk.store.models import CheckpointCosignature, LogWitness, WitnessAlert

log = logging.getLogger("proofdesk.witnessing")


def _state(session: Session, witness: str, url: str) -> LogWitness:
    row = session.get(LogWitness, witness)
    if row is None:
        row = LogWitness(key=witness, url=url, size=None)
        session.add(row)
    row.url = url
    return row


def do_record_cosignature(
    session: Session, witness: str, url: str, size: int, line: str, timestamp: int
) -> None:
    """Keep a verified cosignature of our checkpoint of ``size``; the witness has now
    cosigned that size. Must run in :meth:`Database.writer`."""
    if session.get(CheckpointCosignature, (size, witness)) is None:
        session.add(
            CheckpointCosignature(size=size, witness=witness, line=line, timestamp=timestamp)
        )
    row = _state(session, witness, url)
    if row.size is None or row.size <= size:
        row.size = size
    row.cosigned_at = format_time(utc_now())
    row.last_error = None
    row.alert = None
    session.flush()


def do_learn_witness_size(session: Session, witness: str, url: str, size: int) -> None:
    """The witness told us (409) the size it last cosigned for our log."""
    _state(session, witness, url).size = size
    session.flush()


def do_record_witness_failure(session: Session, witness: str, url: str, message: str) -> bool:
    """The witness could not be reached or refused for a reason that is not an alert; False
    when that is what we knew already (the caller logs only news)."""
    row = _state(session, witness, url)
    news = row.last_error != message[:2000]
    row.last_error = message[:2000]
    session.flush()
    return news


def do_raise_witness_alert(
    session: Session, witness: str, url: str, size: int, message: str
) -> WitnessAlert | None:
    """A refusal that is evidence of a split view or a rollback: loud, and kept. While an
    alert of this witness is open (until it cosigns again) a further refusal updates it but
    adds no row and no log line: one alert per episode, not one per checkpoint."""
    now = format_time(utc_now())
    row = _state(session, witness, url)
    opened = row.alert is None
    row.alert, row.alert_at, row.last_error = message[:2000], now, message[:2000]
    alert = None
    if opened:
        log.error("witness %s refused our checkpoint of size %d: %s", witness, size, message)
        alert = WitnessAlert(witness=witness, size=size, message=message[:2000], at=now)
        session.add(alert)
    session.flush()
    return alert


def open_alerts(session: Session) -> list[LogWitness]:
    """The witnesses whose last refusal is an alert not cleared by a later cosignature."""
    return list(
        session.scalars(
            select(LogWitness).where(LogWitness.alert.is_not(None)).order_by(LogWitness.key)
        )
    )
