"""Mail that goes out: one ``multipart/alternative`` of text and HTML, built by the standard
``email`` package under ``policy.default``.

The policy refuses a header value with CR or LF (``ValueError`` from ``email.headerregistry``),
so a subject an agent typed can never add a header; :func:`build` turns that into
:class:`BadHeader`. The HTML is the text escaped into paragraphs and then passed through nh3
(Ammonia) with a short allow-list, so nothing a customer or agent wrote becomes markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

import nh3

from proofdesk.errors import InvalidInput

#: Tags the HTML part may hold; everything else is removed by nh3.
HTML_TAGS = {"p", "br", "blockquote", "small", "hr"}


class BadHeader(InvalidInput):
    code = "bad_mail_header"


@dataclass(frozen=True, slots=True)
class Outgoing:
    message_id: str  # without angle brackets
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False


def text_to_html(text: str, footer: str = "") -> str:
    """Paragraphs of escaped text (line breaks kept), sanitised once more by nh3."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    if footer:
        body += "<hr><p><small>" + html.escape(footer) + "</small></p>"
    return nh3.clean(body, tags=HTML_TAGS, attributes={})


def _angle(message_id: str) -> str:
    return f"<{message_id.strip('<>')}>"


def build(mail: Outgoing) -> EmailMessage:
    """The message to hand to SMTP; :class:`BadHeader` if a header would carry CR/LF."""
    message = EmailMessage(policy=policy.SMTP)
    try:
        message["From"] = mail.sender
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = _angle(mail.message_id)
        if mail.reply_to:
            message["Reply-To"] = mail.reply_to
        if mail.in_reply_to:
            message["In-Reply-To"] = _angle(mail.in_reply_to)
        if mail.references:
            message["References"] = " ".join(_angle(r) for r in mail.references)
        if mail.automatic:
            # RFC 3834 §5: an automatic response; well-behaved responders do not answer it.
            message["Auto-Submitted"] = "auto-replied"
            message["X-Auto-Response-Suppress"] = "All"
    except ValueError as exc:
        raise BadHeader(f"a header of this mail is not allowed: {exc}") from None
    message.set_content(mail.text, charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message
