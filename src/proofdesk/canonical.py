"""Canonical JSON (RFC 8785, JCS) and the value conventions of event payloads.

Event payloads are what the transparency log will hash and sign, so they must have exactly one
byte representation. RFC 8785 fixes key order and number formatting; we add three conventions
that keep payloads inside the part of JSON that canonicalizes without surprises:

* no floats (amounts are decimal strings, e.g. ``"12.50"``),
* times are RFC 3339 UTC strings with microseconds and a ``Z`` suffix,
* integers stay within the IEEE-754 safe range (|n| < 2**53, RFC 8785 §3.2.2.3).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import rfc8785

from proofdesk.errors import InvalidInput

MAX_SAFE_INTEGER = 2**53 - 1
#: Longest decimal string an amount may have (the width of ``orders.amount``).
MAX_AMOUNT_CHARS = 80


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 encoding of ``value`` after checking our payload conventions."""
    _check(value, "$")
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise InvalidInput(f"value cannot be canonicalized: {exc}") from None


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInput(f"{path}: integer outside the safe range", path=path)
        return
    if isinstance(value, float):
        raise InvalidInput(f"{path}: floats are not allowed in payloads", path=path)
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{path}: object keys must be strings", path=path)
            _check(item, f"{path}.{key}")
        return
    raise InvalidInput(f"{path}: unsupported type {type(value).__name__}", path=path)


def loads(data: bytes | str) -> Any:
    return json.loads(data)


def utc_now() -> datetime:
    return datetime.now(UTC)


def stored_utc(moment: datetime) -> datetime:
    """A datetime read from a timezone-aware column: SQLite hands them back naive, and they
    were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def maybe_stored_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else stored_utc(moment)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: ``2026-11-22T22:30:39.000000Z``."""
    if moment.tzinfo is None:
        raise InvalidInput("naive datetime in a payload")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"time without a UTC offset: {text!r}")
    return moment.astimezone(UTC)


def decimal_string(value: str | int | Decimal) -> str:
    """Normalize an amount to a plain decimal string (no exponent, no float rounding)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"not a decimal amount: {value!r}") from None
    if not number.is_finite():
        raise InvalidInput(f"not a finite amount: {value!r}")
    # Bound the size before formatting: "1e999999999" is four characters that would expand to
    # a billion digits. The result must also fit the amount columns.
    digits = len(number.as_tuple().digits)
    if not -MAX_AMOUNT_CHARS < number.adjusted() < MAX_AMOUNT_CHARS or digits > MAX_AMOUNT_CHARS:
        raise InvalidInput(f"amount has too many digits: {value!r}")
    text = format(number, "f")
    if len(text) > MAX_AMOUNT_CHARS:
        raise InvalidInput(f"amount has too many digits: {value!r}")
    return text
