"""Quoted history and signatures cut from a reply, so each message holds only what is new.

A reply is cut at the first line that starts the history, in the shapes mail clients write:
Gmail and Apple Mail's ``On <date>, <name> wrote:`` (also split over two lines), the Chinese
``在 2026年12月1日 …写道：``, ``-----Original Message-----`` / ``-----原始邮件-----`` and Foxmail's
``------------------ Original ------------------``, Outlook's header block
(``From:``/``发件人:`` followed by ``Sent:``/``发送时间:``, ``To:``/``收件人:``, ``Subject:``/``主题:``),
and a trailing block of ``>`` lines. A signature is cut at the RFC 3676 delimiter ``-- `` and
at "Sent from my …" lines. The full original is kept as an attachment by the caller, so
nothing is lost when a cut is wrong.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*在.{0,300}写道\s*[：:]\s*$"),
    re.compile(r"^\s*于.{0,300}写道\s*[：:]\s*$"),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE),
]
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(Original Message|Original|原始邮件|原始郵件|回复的原邮件)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(From|发件人|寄件者)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(Sent|Date|To|Cc|Subject|发送时间|时间|日期|收件人|抄送|主题|寄件日期|收件者|主旨)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^\s*(Sent from my .{1,40}|Get Outlook for .{1,40}|发自我的.{1,20}|从我的.{1,20}发送)\s*$",
    re.IGNORECASE,
)


def _header_block(lines: list[str], at: int) -> bool:
    """Whether an Outlook-style header block starts at ``at``: From: then another field."""
    if not _HEADER_FROM.match(lines[at]):
        return False
    following = [line for line in lines[at + 1 : at + 5] if line.strip()]
    return sum(1 for line in following if _HEADER_NEXT.match(line)) >= 2


def _history_starts(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _ATTRIBUTION) or _SEPARATOR.match(line):
            return i
        # "On Tue, 1 Dec 2026 at 10:00, Alice <a@x>\nwrote:" — the client wrapped it.
        if i + 1 < len(lines) and re.match(r"^\s*On\b", line, re.IGNORECASE):
            joined = line.rstrip() + " " + lines[i + 1].strip()
            if _ATTRIBUTION[0].match(joined):
                return i
        if _UNDERSCORES.match(line) and i + 1 < len(lines) and _header_block(lines, i + 1):
            return i
        if _header_block(lines, i):
            return i
    return None


def strip_quoted(text: str) -> str:
    """The new part of a reply; the whole text if cutting would leave nothing."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _history_starts(lines)
    if cut is not None:
        lines = lines[:cut]
    for i, line in enumerate(lines):
        if line == "-- " or line.rstrip() == "--":
            lines = lines[:i]
            break
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    while lines and _SIGNOFF.match(lines[-1]):
        lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
    kept = "\n".join(lines).strip()
    return kept or text.strip()


class _Text(HTMLParser):
    """Text of an HTML body, without scripts, styles and quoted history (``blockquote``,
    Gmail's ``gmail_quote``, Outlook's ``divRplyFwdMsg``)."""

    SKIP = frozenset({"script", "style", "head", "title", "blockquote"})
    BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"})
    VOID = frozenset(
        {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[bool] = []  # per open element: whether it hides its content

    @property
    def hidden(self) -> bool:
        return any(self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        if tag in self.BREAK and not self.hidden:
            self.out.append("\n")
        if tag in self.VOID:
            return
        self.stack.append(tag in self.SKIP or "gmail_quote" in names or "divRplyFwdMsg" in names)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if self.stack:
            self.stack.pop()
        if tag in self.BREAK and not self.hidden:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html[:2_000_000])
        parser.close()
    except Exception:  # HTMLParser is lenient; this is the last guard of a total function
        return ""
    text = re.sub(r"[ \t\xa0]+", " ", "".join(parser.out))
    return re.sub(r"\n\s*\n\s*\n+", "\n\n", text).strip()
