"""Outgoing e-mail over SMTP (``PROOFDESK_SMTP_URL``), one message per connection.

Messages are built with the standard library's ``email`` package under its default policy: a
Chinese subject is RFC 2047-encoded (never garbled), the body is UTF-8 text. The connection
uses TLS — ``smtps://`` from the start, ``smtp://`` by STARTTLS — and only a loopback server may
go without. Neither the password nor a message's content (sign-in links are secrets) is ever
logged; a failure is a :class:`MailUnavailable` naming what failed, nothing more.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from proofdesk.errors import Error
from proofdesk.settings import Settings

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MailUnavailable(Error):
    code = "mail_unavailable"
    http_status = 503


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class Mailer:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer | None:
        """The configured mailer, or None when no SMTP server is configured."""
        if settings.smtp_url is None:
            return None
        parts = urlsplit(settings.smtp_url.get_secret_value())
        assert parts.hostname is not None  # checked by Settings
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=settings.mail_from,
            timeout=settings.smtp_timeout_seconds,
        )

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(mail.text, charset="utf-8")
        return message

    def send(self, mail: Mail) -> None:
        self.send_message(self.message(mail))

    def send_message(self, message: EmailMessage) -> None:
        """Hand one built message to the server (``MailUnavailable`` if it is not taken)."""
        context = ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.scheme == "smtps":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if self.scheme == "smtp":
                    if client.has_extn("starttls"):
                        client.starttls(context=context)
                        client.ehlo()
                    elif not is_loopback(self.host):
                        raise MailUnavailable(
                            f"{self.host} offers no STARTTLS; refusing plain text"
                        )
                if self.username is not None:
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("e-mail to the SMTP server %s failed: %s", self.host, type(exc).__name__)
            raise MailUnavailable(f"the e-mail could not be sent ({type(exc).__name__})") from None
