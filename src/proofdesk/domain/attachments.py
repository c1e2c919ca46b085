"""Attachment checks: size limit and a content type that the bytes themselves confirm."""

from __future__ import annotations

import hashlib

import filetype

from proofdesk.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from proofdesk.i18n import N_, in_every_locale

MAX_FILENAME = 255
#: Why a text file was refused; the Chinese leaves out the kinds of secret found.
SECRET_IN_FILE = N_(
    "this file contains a secret ({kinds}): it was not stored. Never share a seed phrase or "
    "private key; move your funds to a new wallet now."
)


def sniff_content_type(data: bytes) -> str | None:
    """The type the file's magic bytes say it is; ``text/plain`` for NUL-free UTF-8."""
    kind = filetype.guess(data)
    if kind is not None:
        return str(kind.mime)
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def check_attachment(
    filename: str,
    declared_type: str | None,
    data: bytes,
    *,
    max_bytes: int,
    allowed: tuple[str, ...],
) -> tuple[str, str]:
    """Validate an upload; return (sha256 hex, content type)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"attachment larger than {max_bytes} bytes", limit=max_bytes)
    if not data:
        raise InvalidInput("attachment is empty", field="file")
    name = filename.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if not name or len(name) > MAX_FILENAME or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            "attachment needs a file name of 1-255 printable characters", field="file"
        )
    sniffed = sniff_content_type(data)
    if sniffed is None or sniffed not in allowed:
        raise UnsupportedMediaType(
            f"file type {sniffed or 'unknown'} is not accepted", allowed=list(allowed)
        )
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared and declared not in ("application/octet-stream", sniffed):
        raise UnsupportedMediaType(
            f"declared type {declared} does not match the content ({sniffed})", sniffed=sniffed
        )
    if sniffed == "text/plain":
        _refuse_secrets(data)
    return hashlib.sha256(data).hexdigest(), sniffed


def _refuse_secrets(data: bytes) -> None:
    """A text file with a seed phrase, a private key or a keystore is refused, not stored:
    editing it would break the file's hash that the log commits to, and storing it would keep
    the secret. The customer is told why (both languages) and to move their funds."""
    from proofdesk.domain.redaction import redact

    found = redact(data.decode("utf-8", errors="replace")).kinds
    if found:
        # One message in both languages: the refusal reaches API clients, which have no locale.
        said = in_every_locale(SECRET_IN_FILE, kinds=", ".join(found))
        raise InvalidInput(
            " / ".join(said.values()),
            code="secret_in_attachment",
            field="file",
        )
