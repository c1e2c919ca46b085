"""The payouts worker: sends queued payouts (``chain.payouts``) and writes each finished one
into its ticket's timeline.

Exactly once. Sending is the :class:`~proofdesk.chain.payouts.Payer`'s: a queued row becomes
``sent`` by a compare-and-set under the writer lock before its bytes are broadcast, and the
escrow refuses a claim id it has paid. The ``payout.changed`` event is written here, in the same
transaction that sets the row's ``recorded`` flag, after re-reading the flag under the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select

from proofdesk.actions.contracts import automation_actor
from proofdesk.actions.payouts import do_record_payout
from proofdesk.chain.base import Chain
from proofdesk.chain.outbox import IN_FLIGHT
from proofdesk.chain.payouts import Payer
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket, row_to_state
from proofdesk.store.models import Payout
from proofdesk.workers.base import PeriodicWorker

#: Statuses after which a payout's outcome goes into the timeline.
FINISHED = ("confirmed", "failed")


class PayoutWorker(PeriodicWorker):
    """Sends and records payouts on the chain ``chain`` gives (opened by its owner)."""

    name = "payouts"

    def __init__(
        self, db: Database, chain: Callable[[], Chain], interval: float, *, batch: int = 20
    ) -> None:
        super().__init__(interval)
        self.db, self._chain, self.batch = db, chain, batch
        self._payer: Payer | None = None
        self._build = threading.Lock()

    def payer(self) -> Payer:
        """The payer on the current chain (a new one if the chain was reopened)."""
        chain = self._chain()
        with self._build:
            if self._payer is None or self._payer.chain is not chain:
                self._payer = Payer(self.db, chain, batch=self.batch)
            return self._payer

    def step(self) -> int:
        """Send and follow, then record what finished; returns the rows touched. The chain is
        not asked for (nor opened) while no payout waits for it."""
        touched = self.payer().tick() if self._waiting() else 0
        return touched + self.record_finished()

    def _waiting(self) -> bool:
        with self.db.reader() as session:
            found = session.scalars(
                select(Payout.id).where(Payout.status.in_(("queued", *IN_FLIGHT))).limit(1)
            ).first()
        return found is not None

    def record_finished(self) -> int:
        """A ``payout.changed`` event for each confirmed or failed payout not yet in its
        ticket's timeline. The candidates are read outside the lock; each is re-read under it,
        so two workers never record one payout twice."""
        with self.db.reader() as session:
            waiting = session.scalars(
                select(Payout.id)
                .where(Payout.status.in_(FINISHED), Payout.recorded.is_(False))
                .order_by(Payout.id)
                .limit(self.batch)
            ).all()
        if not waiting:
            return 0
        count = 0
        with self.db.writer() as session:
            for payout_id in waiting:
                row = session.get(Payout, payout_id)
                if row is None or row.recorded or row.status not in FINISHED:
                    continue  # another worker recorded it first
                ticket = lock_ticket(session, row.ticket_id)
                if ticket is None:
                    continue
                do_record_payout(
                    session,
                    automation_actor(row.organization_id),
                    row_to_state(ticket),
                    row,
                    tx_hash=row.tx_hash,
                    chain_id=row.chain_id,
                    block_number=row.block_number,
                    error=row.error if row.status == "failed" else None,
                )
                row.recorded = True
                count += 1
        return count
