"""``proofdesk rebuild``: every projection recomputed from the event stream, the SLA rows with
them. A state change like any other, so it lives here; the projections it recomputes and the
check that compares them live in ``store.projections``."""

from __future__ import annotations

from proofdesk.actions.sla_timers import do_recompute_sla
from proofdesk.canonical import utc_now
from proofdesk.store.db import Database
from proofdesk.store.events import rebuild_projections


def do_rebuild_all(db: Database) -> int:
    """Recompute every projection from the events, the SLA timers included; returns the
    number of tickets rebuilt."""
    with db.writer() as session:
        count = rebuild_projections(session)
        session.flush()
        do_recompute_sla(session, utc_now())
        return count
