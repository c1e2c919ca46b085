"""Rebuilding and checking ticket projections against the event stream.

The check does not re-implement the projection: it snapshots the projection tables, rebuilds
them from the events with the same code the writers use, snapshots again and rolls back. It runs
inside a write transaction, so the sequencer lock gives it a consistent view of a live database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.errors import Error
from proofdesk.store.db import Database
from proofdesk.store.events import rebuild_projections
from proofdesk.store.models import Message, SearchTerm, Ticket, TicketTag


class _Rollback(Exception):
    """Raised to leave a writer transaction without committing."""


def _snapshot(session: Session) -> dict[str, dict[Any, dict[str, Any]]]:
    tables: dict[str, dict[Any, dict[str, Any]]] = {
        "ticket": {},
        "tag": {},
        "message": {},
        "search": {},
    }
    for t in session.scalars(select(Ticket)):
        tables["ticket"][t.id] = {c.key: getattr(t, c.key) for c in Ticket.__table__.columns}
    for tag in session.scalars(select(TicketTag)):
        tables["tag"][(tag.ticket_id, tag.tag)] = {}
    for m in session.scalars(select(Message)):
        tables["message"][m.id] = {c.key: getattr(m, c.key) for c in Message.__table__.columns}
    for row in session.scalars(select(SearchTerm)):  # its ids are renumbered by a rebuild
        key = (row.ticket_id, row.message_id or "header")
        tables["search"][key] = {"visibility": row.visibility, "terms": row.terms}
    return tables


def check_projections(db: Database) -> list[str]:
    """Return a line per projection row that differs from what the events say (empty: all
    match), or the first event that cannot be applied."""
    problems: list[str] = []
    try:
        with db.writer() as session:
            before = _snapshot(session)
            session.expunge_all()
            try:
                rebuild_projections(session)
            except Error as exc:
                seq = exc.details.get("seq", "?")
                problems.append(f"event {seq}: cannot apply: {exc.message}")
                raise _Rollback from None
            session.flush()
            session.expunge_all()
            after = _snapshot(session)
            raise _Rollback
    except _Rollback:
        pass
    if problems:
        return problems
    for table in ("ticket", "tag", "message", "search"):
        for key in sorted(set(before[table]) | set(after[table]), key=str):
            have, want = before[table].get(key), after[table].get(key)
            if have == want:
                continue
            where = {
                "tag": f"ticket {key[0]}: tag {key[1]!r}",
                "search": f"ticket {key[0]}: search terms of {key[1]}",
            }.get(table, f"{table} {key}")
            if have is None:
                problems.append(f"{where}: missing from the projection")
            elif want is None:
                problems.append(f"{where}: in the projection but not in the events")
            else:
                fields = sorted(k for k in want if have.get(k) != want[k])
                problems.append(f"{where}: differs from the events in {', '.join(fields)}")
    return problems
