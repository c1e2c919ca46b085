"""The inbound SMTP endpoint (aiosmtpd) for deployments whose mail server pipes mail to us
(``PROOFDESK_MAIL_INBOUND_SMTP=host:port``).

A recipient is accepted only when it is one of our mailboxes or its ``+`` sub-address (so the
endpoint is no open relay and unknown addresses are refused at ``RCPT``, 550); a mail is
taken in through ``actions.mail_in.ingest`` once per organization it is addressed to, and the
answer is 250 even for a quarantined or automatic mail (it was received; what became of it is
recorded in ``mail_imports``) and 451 when the database cannot take it (the sending server
tries again later). It runs in the thread aiosmtpd's controller starts; it is a worker of the
registry so ``serve`` and ``proofdesk worker --only mail_smtp`` start it the same way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from sqlalchemy import select

from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.mail_in import ingest
from proofdesk.errors import ConfigError
from proofdesk.mail.address import is_ours
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Mailbox
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)


class _Handler:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.blobs = BlobStore(settings.blob_dir)

    def _mailbox(self, address: str) -> str | None:
        domain = address.rpartition("@")[2].lower()
        with self.db.reader() as session:
            rows = session.execute(
                select(Mailbox.id, Mailbox.address).where(
                    Mailbox.is_active.is_(True), Mailbox.address.like(f"%@{domain}")
                )
            ).all()
        return next((row.id for row in rows if is_ours(row.address, address)), None)

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        found = await asyncio.to_thread(self._mailbox, address)
        if found is None:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        try:
            await asyncio.to_thread(self._take, envelope.rcpt_tos, raw)
        except Exception:
            log.exception("inbound mail could not be stored; the sender will retry")
            return "451 4.3.0 try again later"
        return "250 OK"

    def _take(self, recipients: list[str], raw: bytes) -> None:
        mailboxes = dict.fromkeys(m for m in map(self._mailbox, recipients) if m is not None)
        for mailbox_id in mailboxes:
            ingest(self.db, self.blobs, self.settings, mailbox_id, raw)


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("mail_inbound_smtp is host:port", key="mail_inbound_smtp")
    return host.strip("[]"), int(port)


class MailSmtpEndpoint(PeriodicWorker):
    """Not periodic: ``start`` opens the listening socket, ``stop`` closes it."""

    name = "mail_smtp"

    def __init__(self, db: Database, settings: Settings) -> None:
        address = settings.mail_inbound_smtp
        super().__init__(1.0 if address else 0)
        self.db, self.settings = db, settings
        self.address = listen_address(address) if address else None
        self.controller: Controller | None = None

    def step(self) -> None:
        """Nothing to do by rounds: the endpoint answers connections as they come."""

    def start(self) -> None:
        if self.address is None or self.controller is not None:
            return
        host, port = self.address
        self.controller = Controller(
            _Handler(self.db, self.settings),
            hostname=host,
            port=port,
            data_size_limit=self.settings.mail_max_bytes,
            decode_data=False,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
