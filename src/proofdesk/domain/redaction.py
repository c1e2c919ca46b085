"""Secrets customers paste by mistake — seed phrases, private keys, keystore files — are removed
before anything is stored, logged or committed to the transparency log.

What counts as a secret:

- a BIP-39 mnemonic: 12 or more consecutive words of one of the ten official word lists
  (English, Spanish, French, Italian, Czech, Portuguese, Japanese, Korean, Chinese simplified and
  traditional; whatever the checksum: a mistyped phrase still exposes the wallet), written the
  ways backup cards are copied — separated by spaces, commas or new lines, numbered (``1. word``,
  ``1) word``, ``1.word 2.word``), bulleted, in columns. Words are compared as the lists are
  (NFKD), accents optional. Chinese characters count only when separated (unseparated Chinese
  text is ordinary prose). A run stops at a label (``seed phrase:``) or at the end of a sentence
  (``help. Seed``), so the words around a phrase stay, even when they are on a list;
- 64 hexadecimal digits, with or without ``0x``, contiguous or split in groups or over lines,
  after words like "private key" / "私钥"; and without ``0x`` and without transaction words
  ("txid", "hash", "交易哈希"…) nearby — an EVM private key is shown bare, an EVM transaction
  hash always with ``0x``, so a bare one is treated as the dangerous reading;
- a WIF private key (base58check, version 0x80) and an extended private key (``xprv``/``tprv``);
- an encrypted keystore (JSON with ``crypto``/``Crypto`` holding ``ciphertext`` and ``kdf``),
  also as the base64 text a keystore QR code holds.

Each is replaced by a bilingual marker, so the conversation still reads. The caller tells the
customer to move their funds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from embit import base58

from proofdesk.domain.entities import TX_CONTEXT
from proofdesk.i18n import N_

MARKERS = {
    "seed_phrase": "[redacted seed phrase / 已删除助记词]",
    "private_key": "[redacted private key / 已删除私钥]",
    "keystore": "[redacted keystore file / 已删除密钥库文件]",
}
#: What the customer is told, in their language, when a secret was removed from their message.
SECRET_WARNING = N_(
    "Your message contained a secret (a seed phrase, a private key or a keystore file). We "
    "removed it before storing anything, but anyone who saw it can take your funds: move them "
    "to a new wallet now. We will never ask for your seed phrase or private key."
)
MIN_WORDS = 12
#: The official BIP-39 word lists, as shipped by the ``mnemonic`` package (the reference one).
LANGUAGES = (
    "english",
    "spanish",
    "french",
    "italian",
    "czech",
    "portuguese",
    "japanese",
    "korean",
    "chinese_simplified",
    "chinese_traditional",
)

# Letters, and the combining marks a decomposed (NFKD) paste carries: "é" as "e" + U+0301,
# "が" as "か" + U+3099 — the form the BIP-39 lists themselves use.
_WORD = re.compile(
    r"(?:[^\W\d_]|[\u0300-\u036f\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f])+"
)
# What may stand between two words of one phrase: spaces and new lines, list punctuation,
# bullets, and the numbers of a numbered list (``1.``, ``2)``, ``(3)``, ``4、``).
# Possessive, so that a long gap that does not match fails at once instead of backtracking.
_GAP = re.compile(r"(?:[\s,，、;；.。|/*•·●▪◦‣#()\[\]\-–—]|\d++[.)、:：\]]?)*+")
_MAX_GAP = 24
# A colon right after a word ends a label ("seed phrase:"); after a number it is list numbering.
_LABEL_END = re.compile(r"^[ \t]*[:：]")
_SENTENCE_END = re.compile(r"^[.!?。！？]+\s")
_HEX = re.compile(r"(?<![0-9A-Za-z])(0x)?([0-9a-fA-F]{64})(?![0-9A-Za-z])")
# 64 hex digits in groups of 4 or more, split by spaces, dashes, colons or a line break.
_HEX_GROUPS = re.compile(
    r"(?<![0-9A-Za-z])(0x)?[0-9a-fA-F]{4,}(?:(?:[ \t]{1,3}|[ \t]*\r?\n[ \t]*|[-:])[0-9a-fA-F]{4,}){1,15}"
    r"(?![0-9A-Za-z])"
)
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_KEY_CONTEXT = re.compile(
    r"private\s*key|privkey|priv\s*key|secret\s*key|私钥|密钥|秘钥|私人密钥|key\s*[:=：]", re.I
)
_WIF = re.compile(r"(?<![0-9A-Za-z])[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}(?![0-9A-Za-z])")
_XPRV = re.compile(r"(?<![0-9A-Za-z])[xt]prv[1-9A-HJ-NP-Za-km-z]{100,112}(?![0-9A-Za-z])")
# A keystore is about 500 bytes of JSON, so its base64 is 600+ characters, maybe line-wrapped.
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])(?:[A-Za-z0-9+/_-]{4}\s?){150,}[A-Za-z0-9+/_=-]{0,4}")


def _fold(word: str) -> str:
    """A word as the lists are compared: NFKD, accents dropped, lower case. The Spanish and
    French lists are made so that no two words differ only by their accents."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@cache
def word_lists() -> dict[str, frozenset[str]]:
    """Each language's list, folded."""
    folder = resources.files("mnemonic").joinpath("wordlist")
    lists = {}
    for language in LANGUAGES:
        text = folder.joinpath(f"{language}.txt").read_text("utf-8")
        lists[language] = frozenset(_fold(w) for w in text.split())
    return lists


@dataclass
class Redacted:
    text: str
    #: What was removed (``seed_phrase``, ``private_key``, ``keystore``), in order, once each.
    kinds: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def _spans_of_mnemonics(text: str) -> list[tuple[int, int]]:
    words = [(m.start(), m.end(), _fold(m.group(0))) for m in _WORD.finditer(text)]
    spans: list[tuple[int, int]] = []
    for listed in word_lists().values():
        run: list[tuple[int, int, str]] = []
        for word in [*words, None]:
            if word is not None and word[2] in listed and (not run or _joins(text, run[-1], word)):
                run.append(word)
                continue
            if len(run) >= MIN_WORDS:
                spans.append((run[0][0], run[-1][1]))
            run = [word] if word is not None and word[2] in listed else []
    return spans


def _joins(text: str, before: tuple[int, int, str], after: tuple[int, int, str]) -> bool:
    """Whether two listed words belong to one phrase: only list punctuation between them, and
    neither a label nor a sentence ending after the first."""
    gap = text[before[1] : after[0]]
    if len(gap) > _MAX_GAP or not _GAP.fullmatch(gap) or _LABEL_END.match(gap):
        return False
    capital = text[after[0]].isupper() and not text[before[0]].isupper()
    if "\n" in gap and capital:
        return False  # "…about\nThank you": a phrase is written in one case throughout
    # A sentence ending is a boundary when a new sentence or a new line follows it; list words
    # ending in "." inside one line ("abandon. ability.") still join.
    return not (_SENTENCE_END.match(gap) and (text[after[0]].isupper() or "\n" in gap))


def _spans_of_keys(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _HEX.finditer(text) if _reads_as_key(text, m)]
    for m in _HEX_GROUPS.finditer(text):
        spans += _split_keys(text, m)
    for pattern, version in ((_WIF, 0x80), (_WIF, 0xEF)):
        for m in pattern.finditer(text):
            try:
                payload = base58.decode_check(m.group(0))
            except (ValueError, KeyError, IndexError):
                continue
            if payload[0] == version and len(payload) in (33, 34):
                spans.append((m.start(), m.end()))
    for m in _XPRV.finditer(text):
        try:
            base58.decode_check(m.group(0))
        except (ValueError, KeyError, IndexError):
            continue
        spans.append((m.start(), m.end()))
    return spans


#: How many ``{`` a text may make the keystore search try to parse (bounds the work on
#: hostile input full of braces).
MAX_JSON_ATTEMPTS = 200


def _split_keys(text: str, found: re.Match[str]) -> list[tuple[int, int]]:
    """The runs of whole groups in ``found`` that hold exactly 64 hex digits and read as a key.
    Ordinary words can be hex ("a bad cafe"), so a split key must also have its digits."""
    prefixed = found.group(1) is not None
    body = found.start() + (2 if prefixed else 0)
    groups = [g.span() for g in _HEX_RUN.finditer(text, body, found.end())]
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        count, last = 0, first
        while last < len(groups) and count < 64:
            count += groups[last][1] - groups[last][0]
            last += 1
        start, end = groups[first][0], groups[last - 1][1]
        with_prefix = prefixed and first == 0
        if (
            count == 64
            and last - first > 1
            and sum(c.isdigit() for c in text[start:end]) >= 8
            and _key_in_context(text, found.start() if with_prefix else start, with_prefix)
        ):
            spans.append((found.start() if with_prefix else start, end))
            first = last
        else:
            first += 1
    return spans


def _reads_as_key(text: str, found: re.Match[str]) -> bool:
    return _key_in_context(text, found.start(), found.group(1) is not None)


def _key_in_context(text: str, start: int, prefixed: bool) -> bool:
    before = text[max(0, start - 40) : start]
    return bool(_KEY_CONTEXT.search(before)) or (not prefixed and not TX_CONTEXT.search(before))


def _spans_of_keystores(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if "ciphertext" not in text or "kdf" not in text:
        return spans
    decoder = json.JSONDecoder()
    position = text.find("{")
    attempts = 0
    while position != -1 and attempts < MAX_JSON_ATTEMPTS:
        attempts += 1
        try:
            value, end = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python goes
            position = text.find("{", position + 1)
            continue
        crypto = value.get("crypto") or value.get("Crypto") if isinstance(value, dict) else None
        if isinstance(crypto, dict) and "ciphertext" in crypto and "kdf" in crypto:
            spans.append((position, end))
        position = text.find("{", end)
    return spans


def _spans_of_encoded_keystores(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _BASE64.finditer(text):
        packed = re.sub(r"\s", "", m.group(0))
        try:
            decoded = base64.b64decode(packed + "=" * (-len(packed) % 4), altchars=b"-_")
            inner = decoded.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if _spans_of_keystores(inner):
            spans.append((m.start(), m.end()))
    return spans


def redact(text: str) -> Redacted:
    """``text`` with every secret replaced by its marker, and what was removed."""
    if not text:
        return Redacted(text)
    found: list[tuple[int, int, str]] = []
    for kind, spans in (
        ("keystore", [*_spans_of_keystores(text), *_spans_of_encoded_keystores(text)]),
        ("seed_phrase", _spans_of_mnemonics(text)),
        ("private_key", _spans_of_keys(text)),
    ):
        found += [(start, end, kind) for start, end in spans]
    if not found:
        return Redacted(text)
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out, kinds, cursor = [], [], 0
    for start, end, kind in found:
        if start < cursor:
            continue  # inside a secret already removed (a key inside a keystore, say)
        out.append(text[cursor:start])
        out.append(MARKERS[kind])
        cursor = end
        if kind not in kinds:
            kinds.append(kind)
    out.append(text[cursor:])
    return Redacted("".join(out), kinds)


class RedactingFilter(logging.Filter):
    """A logging filter that removes secrets from every record (an access log line with a
    search query, an error quoting a request…) before any handler writes it.

    The format string and each argument are cleaned separately, so a record keeps its shape:
    uvicorn's access formatter unpacks exactly five arguments, and replacing them with the
    formatted text broke it into a traceback per request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg).text
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def _clean(value: object) -> object:
    """A string cleaned; a number or None as it is (``%d`` must still format it); anything
    else (an exception, a URL object) by its text, cleaned, since that is what ``%s`` prints."""
    if value is None or isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    cleaned = redact(text).text
    return value if cleaned == text else cleaned


def _loggers() -> Iterable[logging.Logger]:
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "proofdesk"):
        yield logging.getLogger(name)


def install_log_filter() -> None:
    """Put :class:`RedactingFilter` on every handler of the root and uvicorn loggers."""
    for logger in _loggers():
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
