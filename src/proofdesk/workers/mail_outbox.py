"""The outbox sender: sends the rows of ``mail_outbox`` over the configured SMTP server.

Exactly once, as far as SMTP allows (``actions.mail_out``): each row is claimed under the
writer lock with a lease, sent outside it, and marked sent by a compare-and-set. A rolled-back
change never wrote its row; a sender killed before the send leaves the row to the next sender
once the lease ends; two senders never claim one row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from proofdesk.actions import mail_out
from proofdesk.canonical import utc_now
from proofdesk.errors import Error
from proofdesk.mail.compose import build
from proofdesk.mail.smtp import Mailer
from proofdesk.store.db import Database
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

#: Sends one built message; raises ``MailUnavailable`` when the server does not take it.
Send = Callable[[EmailMessage], None]


class MailOutbox(PeriodicWorker):
    name = "mail_outbox"

    def __init__(
        self,
        db: Database,
        send: Send | None,
        interval: float,
        *,
        lease: timedelta = mail_out.LEASE,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        # No SMTP server configured: the rows wait (nothing to send them with).
        super().__init__(interval if send is not None else 0)
        self.db, self.send, self.lease = db, send, lease
        self._now = now or utc_now

    def step(self) -> int:
        """Send what is due; returns how many were sent."""
        if self.send is None:
            return 0
        now = self._now()
        with self.db.reader() as session:
            due = mail_out.due(session, now)
        sent = 0
        for row_id in due:
            with self.db.writer() as session:
                outgoing = mail_out.do_claim(session, row_id, now, self.lease)
            if outgoing is None:
                continue
            try:
                self.send(build(outgoing))
            except Error as exc:
                permanent = exc.code == "bad_mail_header"
                with self.db.writer() as session:
                    mail_out.do_mark_failed(
                        session, row_id, self._now(), exc.message, permanent=permanent
                    )
                continue
            with self.db.writer() as session:
                mail_out.do_mark_sent(session, row_id, self._now())
            sent += 1
        return sent


def smtp_sender(mailer: Mailer | None) -> Send | None:
    """The mailer's send. Every refusal is retried with backoff (a 5xx is not yet told
    apart from a passing failure); only a header the policy refuses fails at once."""
    if mailer is None:
        return None

    def send(message: EmailMessage) -> None:
        mailer.send_message(message)

    return send
