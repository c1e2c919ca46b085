"""Opaque cursors for keyset pagination: base64url of ``[sort key, value, id]``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from proofdesk import jsonlimits
from proofdesk.canonical import MAX_SAFE_INTEGER
from proofdesk.errors import InvalidInput


def encode_cursor(sort: str, value: Any, row_id: str) -> str:
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, value_type: type[int] | type[str]) -> tuple[Any, str]:
    """The (sort value, id) a cursor resumes after. The client can edit a cursor, so its value
    must have the sort column's type (PostgreSQL refuses to compare text with an integer) and
    fit it; a NUL character is refused by PostgreSQL in any text parameter."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, value, row_id = jsonlimits.loads(raw, what="cursor")
    except (binascii.Error, InvalidInput, ValueError, TypeError):
        raise InvalidInput("invalid cursor", field="cursor") from None
    if key != sort or not _is_text(row_id) or not _fits(value, value_type):
        raise InvalidInput("cursor does not belong to this listing", field="cursor")
    return value, row_id


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and "\x00" not in value


def _fits(value: Any, value_type: type[int] | type[str]) -> bool:
    if value_type is int:
        return type(value) is int and abs(value) <= MAX_SAFE_INTEGER
    return _is_text(value)
