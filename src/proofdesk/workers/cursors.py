"""Named positions in the event stream (``cursors`` rows) that workers follow.

A worker reads events after its cursor without a lock and moves the cursor with a
compare-and-set in the transaction that writes what the events called for: of two workers that
read the same events, only the first to commit moves it, and the other starts again from there.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from proofdesk.store.models import Cursor, TicketEvent


def stream_end(session: Session) -> int:
    """The last sequence number in the stream; -1 when it is empty."""
    last = session.scalar(select(func.max(TicketEvent.seq)))
    return -1 if last is None else int(last)


def move(session: Session, name: str, position: int, seq: int) -> bool:
    """Move cursor ``name`` from ``position`` to ``seq``; False if it is no longer at
    ``position`` (another worker moved it). Run under the writer lock."""
    moved = session.execute(
        update(Cursor)
        .where(Cursor.name == name, Cursor.seq == position)
        .values(seq=seq)
        .returning(Cursor.seq)
    ).first()
    return moved is not None
