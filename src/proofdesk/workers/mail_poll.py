"""IMAP polling: each active mailbox with an IMAP host, every ``mail_poll_seconds``.

UID based: the mailbox remembers the highest UID it took in under the folder's UIDVALIDITY
(a new UIDVALIDITY starts again from 0 — the Message-ID check keeps that from importing twice).
For the new UIDs it fetches the headers first and skips the Message-IDs already taken in, then
fetches each remaining mail whole (``BODY.PEEK[]``: the server's \\Seen flag is left alone) and
hands it to ``actions.mail_in.ingest``, which re-checks under the writer lock; the unique
constraint on (organization, Message-ID) settles a race between two pollers. A mailbox that
fails (refused login, network) is recorded with its error and tried next round.
"""

from __future__ import annotations

import logging
import ssl

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, U
from imap_tools.errors import ImapToolsError
from sqlalchemy import select

from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.mail_in import already_imported, ingest
from proofdesk.actions.mailboxes import do_record_poll, imap_password
from proofdesk.mail.smtp import is_loopback
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Mailbox
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

#: Mails taken per mailbox per round.
BATCH = 100


def _connect(row: Mailbox, timeout: float) -> BaseMailBox:
    host = row.imap_host or ""
    if row.imap_security == "ssl":
        return MailBox(
            host, row.imap_port, timeout=timeout, ssl_context=ssl.create_default_context()
        )
    if row.imap_security == "starttls":
        return MailBoxStartTls(
            host, row.imap_port, timeout=timeout, ssl_context=ssl.create_default_context()
        )
    if not is_loopback(host):
        raise ConnectionError(f"{host}: plain IMAP is for loopback only")
    return MailBoxUnencrypted(host, row.imap_port, timeout=timeout)


class MailPoller(PeriodicWorker):
    name = "mail_poll"

    def __init__(self, db: Database, settings: Settings, interval: float) -> None:
        super().__init__(interval)
        self.db, self.settings = db, settings
        self.blobs = BlobStore(settings.blob_dir)

    def step(self) -> int:
        """Poll every mailbox once; returns the mails taken in (duplicates not counted)."""
        with self.db.reader() as session:
            ids = session.scalars(
                select(Mailbox.id).where(
                    Mailbox.is_active.is_(True), Mailbox.imap_host.is_not(None)
                )
            ).all()
        return sum(self.poll(mailbox_id) for mailbox_id in ids)

    def poll(self, mailbox_id: str) -> int:
        with self.db.reader() as session:
            row = session.get(Mailbox, mailbox_id)
            if row is None:
                return 0
            session.expunge(row)
        assert self.db.keyring is not None
        password = imap_password(self.db.keyring, row) or ""
        taken, last_uid, validity, error = 0, row.last_uid, None, None
        try:
            with _connect(row, self.settings.smtp_timeout_seconds).login(
                row.imap_user or row.address, password, initial_folder=row.imap_folder
            ) as box:
                status = box.folder.status(row.imap_folder, ["UIDVALIDITY"])
                validity = int(status["UIDVALIDITY"])
                if validity != row.uid_validity:
                    last_uid = 0
                uids = [int(u) for u in box.uids(AND(uid=U(str(last_uid + 1), "*")))]
                uids = sorted(u for u in uids if u > last_uid)[:BATCH]
                if uids:
                    heads = {
                        int(m.uid or 0): str(m.obj.get("Message-ID", ""))
                        for m in box.fetch(
                            AND(uid=",".join(map(str, uids))), headers_only=True, mark_seen=False
                        )
                    }
                    known = already_imported(
                        self.db, row.organization_id, [_bare(v) for v in heads.values() if v]
                    )
                    for uid in uids:
                        if _bare(heads.get(uid, "")) not in known:
                            raw = _fetch_raw(box, uid)
                            if raw is not None:
                                outcome = ingest(self.db, self.blobs, self.settings, row.id, raw)
                                taken += outcome.outcome != "duplicate"
                        last_uid = uid
                        with self.db.writer() as session:
                            do_record_poll(
                                session, row.id, uid_validity=validity, last_uid=uid, error=None
                            )
        except (ImapToolsError, OSError, ValueError, KeyError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("mailbox %s: polling failed: %s", row.address, type(exc).__name__)
        with self.db.writer() as session:
            do_record_poll(session, row.id, uid_validity=validity, last_uid=last_uid, error=error)
        return taken


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _fetch_raw(box: BaseMailBox, uid: int) -> bytes | None:
    """The whole mail as the server holds it, leaving its \\Seen flag alone."""
    status, data = box.client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None
