"""Secrets customers paste by mistake — seed phrases, private keys, keystore files — are removed
before anything is stored, logged or committed to the transparency log.

What counts as a secret:

- a BIP-39 mnemonic: 12 or more consecutive words of the English list (whatever the checksum: a
  mistyped phrase still exposes the wallet), or 12 or more single Chinese characters of the
  simplified Chinese list separated by spaces (unseparated Chinese text is ordinary prose);
- 64 hexadecimal digits, with or without ``0x``, after words like "private key" / "私钥"; and
  without ``0x`` and without transaction words ("txid", "hash", "交易哈希"…) nearby — an EVM
  private key is shown bare, an EVM transaction hash always with ``0x``, so a bare one is
  treated as the dangerous reading;
- a WIF private key (base58check, version 0x80) and an extended private key (``xprv``/``tprv``);
- an encrypted keystore (JSON with ``crypto``/``Crypto`` holding ``ciphertext`` and ``kdf``).

Each is replaced by a bilingual marker, so the conversation still reads. The caller tells the
customer to move their funds.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from embit import base58
from embit.wordlists.bip39 import WORDLIST

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

_WORD = re.compile(r"[A-Za-z]+")
_HEX = re.compile(r"(?<![0-9A-Za-z])(0x)?([0-9a-fA-F]{64})(?![0-9A-Za-z])")
_KEY_CONTEXT = re.compile(
    r"private\s*key|privkey|priv\s*key|secret\s*key|私钥|密钥|秘钥|私人密钥|key\s*[:=：]", re.I
)
_WIF = re.compile(r"(?<![0-9A-Za-z])[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}(?![0-9A-Za-z])")
_XPRV = re.compile(r"(?<![0-9A-Za-z])[xt]prv[1-9A-HJ-NP-Za-km-z]{100,112}(?![0-9A-Za-z])")
_CJK_SEPARATED = re.compile(r"(?:[\u4e00-\u9fff][ \t\u3000,，]+){11,}[\u4e00-\u9fff]")


@cache
def _english() -> frozenset[str]:
    return frozenset(WORDLIST)


@cache
def _chinese() -> frozenset[str]:
    text = (
        resources.files("eth_account")
        .joinpath("hdaccount/wordlist/chinese_simplified.txt")
        .read_text("utf-8")
    )
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


@dataclass
class Redacted:
    text: str
    #: What was removed (``seed_phrase``, ``private_key``, ``keystore``), in order, once each.
    kinds: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def _spans_of_mnemonics(text: str) -> list[tuple[int, int]]:
    spans = []
    words = list(_WORD.finditer(text))
    run: list[re.Match[str]] = []
    for match in [*words, None]:
        joined = (
            match is not None
            and match.group(0).lower() in _english()
            and (not run or re.fullmatch(r"[\s,，、;:.\-]*", text[run[-1].end() : match.start()]))
        )
        if joined and match is not None:
            run.append(match)
            continue
        if len(run) >= MIN_WORDS:
            spans.append((run[0].start(), run[-1].end()))
        run = [match] if match is not None and match.group(0).lower() in _english() else []
    for m in _CJK_SEPARATED.finditer(text):
        chars = re.findall(r"[\u4e00-\u9fff]", m.group(0))
        if len(chars) >= MIN_WORDS and all(c in _chinese() for c in chars):
            spans.append((m.start(), m.end()))
    return spans


def _spans_of_keys(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _HEX.finditer(text):
        before = text[max(0, m.start() - 40) : m.start()]
        if _KEY_CONTEXT.search(before) or (m.group(1) is None and not TX_CONTEXT.search(before)):
            spans.append((m.start(), m.end()))
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


def redact(text: str) -> Redacted:
    """``text`` with every secret replaced by its marker, and what was removed."""
    if not text:
        return Redacted(text)
    found: list[tuple[int, int, str]] = []
    for kind, spans in (
        ("keystore", _spans_of_keystores(text)),
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
    search query, an error quoting a request…) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned.changed:
            record.msg, record.args = cleaned.text, ()
        return True


def install_log_filter() -> None:
    """Put :class:`RedactingFilter` on every handler of the root and uvicorn loggers."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "proofdesk"):
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
