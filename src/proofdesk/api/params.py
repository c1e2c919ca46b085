"""Bounds of the integers a client puts in a path or a query, in one place.

A 64-bit column cannot hold ``9223372036854775808``: SQLite raises ``OverflowError`` and
PostgreSQL an error of its own, and either became a 500. Every integer parameter is declared
through :func:`query_int` or :func:`path_int`, so FastAPI answers ``422 validation_error``
first, and the OpenAPI description says the bounds (``tests/api/test_parameter_bounds.py``
fails on an integer parameter without both).
"""

from __future__ import annotations

from typing import Any

from fastapi import Path, Query

#: The largest value of a signed 64-bit integer column.
MAX_INT64 = 2**63 - 1


def query_int(*, ge: int = 0, le: int = MAX_INT64, **options: Any) -> Any:
    """A bounded integer query parameter (``Annotated[int, query_int(...)]``)."""
    return Query(ge=ge, le=le, **options)


def path_int(*, ge: int = 0, le: int = MAX_INT64, **options: Any) -> Any:
    """A bounded integer path parameter."""
    return Path(ge=ge, le=le, **options)
