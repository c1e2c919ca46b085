"""Mail that comes in, parsed with the standard ``email`` package (``policy.default``) into a
:class:`ParsedMail`, bounded and total: :func:`parse` never raises. A mail over the size limit,
with too many parts or nested too deep, or that the parser cannot read is returned with a
``quarantine`` reason instead.

Charsets are decoded by us, not by the part's own codec name: ``gb2312`` and ``gbk`` are
decoded as GB18030 (their superset, which Chinese clients actually send under those names),
``big5`` as Big5-HKSCS; an unknown charset falls back to UTF-8 with replacement characters.
Encoded words in headers (RFC 2047) go through the same mapping.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from proofdesk.mail.quotes import html_to_text, strip_quoted

#: Codec to decode a declared charset with (its superset, as mail clients mean it).
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",  # what "latin-1" mail really is
    "us-ascii": "utf-8",
    "unknown-8bit": "utf-8",
}

MAX_DEPTH = 20
_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_OUT_OF_OFFICE = re.compile(
    r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|vacation|"
    r"自动回复|自動回覆|不在办公室|休假",
    re.IGNORECASE,
)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 200


@dataclass(frozen=True, slots=True)
class File:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery status notification (RFC 3464): the recipients that failed, and the
    ``Message-ID`` of the mail that bounced when the report quotes it."""

    failed: tuple[tuple[str, str], ...]  # (address, status and diagnostic)
    original_message_id: str | None


@dataclass(slots=True)
class ParsedMail:
    message_id: str
    size: int
    quarantine: str | None = None
    sender: str = ""
    sender_name: str = ""
    recipients: tuple[str, ...] = ()
    subject: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    text: str = ""
    clean_text: str = ""
    files: list[File] = field(default_factory=list)
    #: Why this mail is automatic (an auto-reply, a list): logged, never answered.
    automatic: str | None = None
    bounce: Bounce | None = None
    #: ``pass`` / ``fail`` / ``none``: what the receiving server's Authentication-Results said.
    trust: str = "none"

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Ids this mail answers, the most direct first."""
        return tuple(dict.fromkeys((*self.in_reply_to, *reversed(self.references))))


def decode_bytes(data: bytes, charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-8"
    return data.decode(name, errors="replace")


def decode_words(raw: str) -> str:
    """An RFC 2047 header value, with our charset mapping; never raises."""
    try:
        parts = decode_header(raw)
    except Exception:  # a header the decoder chokes on is kept as it came
        return raw
    out = []
    for chunk, charset in parts:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _raw(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name:
            return str(value)
    return None


def _raw_all(message: Message, name: str) -> list[str]:
    return [str(v) for k, v in message.raw_items() if k.lower() == name]


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MSGID.findall(value or ""))


def _fallback_id(raw: bytes) -> str:
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@proofdesk.invalid"


def _header_id(raw: bytes) -> str:
    """The Message-ID from the header block alone (for a mail too big to parse)."""
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = re.search(rb"(?im)^message-id:\s*<([^<>\s]{1,250})>", head)
    return found.group(1).decode("ascii", "replace") if found else _fallback_id(raw)


def _walk(message: Message, limits: Limits) -> list[Message] | str:
    """Every part, depth first and iteratively; a reason string when over a limit."""
    found: list[Message] = []
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        found.append(part)
        if len(found) > limits.max_parts:
            return f"more than {limits.max_parts} parts"
        if part.is_multipart() and part.get_content_type() != "message/delivery-status":
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
    return found


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    return decode_bytes(data, part.get_content_charset())


def _automatic(message: Message, subject: str) -> str | None:
    # Raw values: these are plain tokens, and the header registry's parsing is the slowest
    # step of reading a mail.
    auto = (_raw(message, "auto-submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"  # RFC 3834 §5
    precedence = (_raw(message, "precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in _AUTO_HEADERS:
        if _raw(message, name) is not None:
            return f"{name} present"
    if _raw(message, "list-id") is not None:
        return "List-Id present (a mailing list)"
    if _OUT_OF_OFFICE.search(subject):
        return "out-of-office subject"
    return None


def _trust(message: Message) -> str:
    """RFC 8601: the topmost Authentication-Results is our receiving server's own (it must
    remove any that came with the mail). DMARC decides when present, else DKIM, else SPF."""
    found = _raw_all(message, "authentication-results")
    if not found:
        return "none"
    results = dict(re.findall(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", found[0].lower()))
    for method in ("dmarc", "dkim", "spf"):
        verdict = results.get(method)
        if verdict == "pass":
            return "pass"
        if verdict in ("fail", "softfail", "permerror"):
            return "fail"
    return "none"


def _bounce(message: Message, parts: list[Message]) -> Bounce | None:
    if message.get_content_type() != "multipart/report":
        return None
    failed: list[tuple[str, str]] = []
    original: str | None = None
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                if not isinstance(block, Message):
                    continue
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(
                    block.get("Final-Recipient") or block.get("Original-Recipient") or ""
                )
                if action == "failed" and recipient:
                    address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                    why = f"{block.get('Status', '')} {block.get('Diagnostic-Code', '')}".strip()
                    failed.append((address, why[:250]))
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = next(iter(_ids(str(inner[0].get("Message-ID", "")))), None)
            else:
                found = re.search(r"(?im)^message-id:\s*<([^<>\s]+)>", _part_text(part))
                original = found.group(1) if found else None
    return Bounce(tuple(failed), original) if failed else None


def _body_and_files(parts: list[Message]) -> tuple[str, list[File]]:
    plain: str | None = None
    html: str | None = None
    files: list[File] = []
    for part in parts:
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        if disposition == "attachment" or filename:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                files.append(File(decode_words(filename or "attachment"), kind, data))
            continue
        if kind == "text/plain" and plain is None:
            plain = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
    if plain is not None and plain.strip():
        return plain, files
    return (html_to_text(html) if html else ""), files


def parse(raw: bytes, limits: Limits = Limits()) -> ParsedMail:
    """The mail in ``raw``; never raises (a bad mail comes back with ``quarantine`` set)."""
    if len(raw) > limits.max_bytes:
        return ParsedMail(
            _header_id(raw), len(raw), quarantine=f"larger than {limits.max_bytes} bytes"
        )
    try:
        return _parse(raw, limits)
    except Exception as exc:  # the parser's contract is "never raises": this is its edge
        return ParsedMail(
            _header_id(raw), len(raw), quarantine=f"unreadable mail ({type(exc).__name__})"
        )


def _parse(raw: bytes, limits: Limits) -> ParsedMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    message_id = next(iter(_ids(_raw(message, "message-id"))), None) or _fallback_id(raw)
    mail = ParsedMail(message_id, len(raw))
    parts = _walk(message, limits)
    if isinstance(parts, str):
        mail.quarantine = parts
        return mail
    name, address = parseaddr(decode_words(_raw(message, "from") or ""))
    mail.sender, mail.sender_name = address.strip().lower(), name.strip()[:200]
    if "@" not in mail.sender:
        mail.quarantine = "no sender address"
        return mail
    recipients = []
    for header in ("to", "cc", "delivered-to", "x-original-to"):
        for _, value in getaddresses(_raw_all(message, header)):
            if "@" in value:
                recipients.append(value.strip().lower())
    mail.recipients = tuple(dict.fromkeys(recipients))
    mail.subject = decode_words(_raw(message, "subject") or "")[:300]
    mail.in_reply_to = _ids(_raw(message, "in-reply-to"))
    mail.references = _ids(_raw(message, "references"))[-50:]
    mail.trust = _trust(message)
    mail.bounce = _bounce(message, parts)
    mail.automatic = None if mail.bounce else _automatic(message, mail.subject)
    mail.text, mail.files = _body_and_files(parts)
    mail.clean_text = strip_quoted(mail.text)
    return mail
