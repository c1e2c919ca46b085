"""Outgoing e-mail, as the composition root hands it to the pages: the SMTP transport itself
is :mod:`proofdesk.mail.smtp`, one layer down, where the outbox worker sends through it too."""

from __future__ import annotations

from proofdesk.mail.smtp import Mail, Mailer, MailUnavailable

__all__ = ["Mail", "MailUnavailable", "Mailer"]
