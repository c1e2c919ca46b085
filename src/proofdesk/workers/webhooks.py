"""The webhooks worker: sends the outbox's due deliveries (``actions.webhook_deliveries``).

Exactly once, at least once. A step claims a batch of due rows under the writer lock, each
with a lease that outlasts the batch's sends (:func:`~proofdesk.actions.webhook_deliveries.do_claim`),
so a second worker, in this process or another, skips them. It builds the bodies from the
stored events in a read transaction, sends them from a small thread pool outside any lock
(each attempt bounded by the timeout), and records the outcomes under the writer lock as
they come, a few per transaction (:func:`~proofdesk.actions.webhook_deliveries.do_record`). A worker
killed before it sends leaves leased rows that are claimed again once the lease ends and
sent once; one killed between a send and its record sends that delivery once more, with the
same ``webhook-id``.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from proofdesk.actions.webhook_deliveries import Claim, any_due, do_claim, do_record
from proofdesk.canonical import canonical_json, utc_now
from proofdesk.domain.webhooks import webhook_data
from proofdesk.errors import Error
from proofdesk.ledger.store import EventReader
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import TicketEvent
from proofdesk.webhooks import signing
from proofdesk.webhooks.keys import signing_key
from proofdesk.webhooks.sender import Outcome, Sender
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)
#: Outcomes recorded per transaction: fewer commits, and a crash re-sends at most these.
RECORD_EVERY = 16


class WebhookWorker(PeriodicWorker):
    """Claims, sends and records webhook deliveries."""

    name = "webhooks"

    def __init__(
        self,
        db: Database,
        interval: float,
        *,
        sender: Sender,
        key: Ed25519PrivateKey,
        batch: int = 32,
        threads: int = 8,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(interval)
        self.db, self.sender, self.key = db, sender, key
        self.batch, self.threads = batch, threads
        self._now = now or utc_now
        #: Who holds a claim: unique per worker, across hosts and processes.
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(6)}"
        # The claim must outlast every send of its batch, one thread's share after another,
        # and the records after them.
        rounds = math.ceil(batch / threads)
        self.lease = timedelta(seconds=sender.timeout * rounds + 60)
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> WebhookWorker:
        return cls(
            db,
            settings.webhooks_poll_seconds,
            sender=Sender(
                timeout=settings.webhooks_timeout_seconds,
                allow_private=settings.webhooks_allow_private,
            ),
            key=signing_key(settings.effective_webhooks_key_file),
            threads=settings.webhooks_concurrency,
            batch=settings.webhooks_concurrency * 4,
        )

    def step(self) -> int:
        """Send what is due; returns the attempts made."""
        keyring = self.db.keyring
        assert keyring is not None
        with self.db.reader() as session:  # an idle outbox takes no writer lock
            if not any_due(session, self._now()):
                return 0
        with self.db.writer() as session:
            claims = do_claim(
                session, keyring, self.owner, self._now(), lease=self.lease, limit=self.batch
            )
        if not claims:
            return 0
        bodies = self._bodies(claims)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="webhooks")
        futures = {self._pool.submit(self._attempt, c, bodies.get(c.event_seq)): c for c in claims}
        done: list[tuple[Claim, Outcome]] = []
        for count, future in enumerate(as_completed(futures), start=1):
            claim = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # a bug in an attempt must not stop the others' records
                log.exception("webhooks: attempt of %s failed", claim.delivery_id)
                outcome = Outcome(None, f"internal error: {type(exc).__name__}", 0)
            done.append((claim, outcome))
            # Recorded a few at a time: one transaction per send would make the writer lock
            # the limit; a crash before a record re-sends only what it had not recorded.
            if len(done) >= RECORD_EVERY or count == len(futures):
                self._record(done)
                done = []
        return len(claims)

    def _record(self, done: list[tuple[Claim, Outcome]]) -> None:
        with self.db.writer() as session:
            now = self._now()
            for claim, outcome in done:
                do_record(session, claim, outcome, now)

    def _bodies(self, claims: list[Claim]) -> dict[int, dict[str, Any]]:
        """The ``data`` of each claimed event, read from the stream (private values opened,
        or their placeholders once the ticket is erased)."""
        seqs = sorted({c.event_seq for c in claims})
        found: dict[int, dict[str, Any]] = {}
        with self.db.reader() as session:
            reader = EventReader(session)
            for row in session.scalars(select(TicketEvent).where(TicketEvent.seq.in_(seqs))):
                try:
                    event = reader.event(row)
                except Error as exc:
                    log.warning("webhooks: event %d cannot be read: %s", row.seq, exc.message)
                    continue
                found[row.seq] = {
                    "timestamp": event.occurred_at,
                    "data": webhook_data(event, row.organization_id),
                }
        return found

    def _attempt(self, claim: Claim, event: dict[str, Any] | None) -> Outcome:
        if event is None:
            return Outcome(None, "the event cannot be read", 0)
        body = canonical_json({"type": claim.webhook_type, **event})
        now = self._now()
        headers = signing.headers(
            str(claim.event_seq), int(now.timestamp()), body, claim.secrets, self.key
        )
        return self.sender.send(claim.url, body, headers, now)

    def stop(self) -> None:
        """Stop the thread, then the senders, and close the connections kept open."""
        super().stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.sender.close()
