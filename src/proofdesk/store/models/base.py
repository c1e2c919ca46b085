"""The declarative base, its naming convention and the column types every table shares.

Ids are random UUID strings so that nothing about one tenant (counts, order) leaks to another;
tickets also carry a per-organization ``number`` for people to quote.
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    DateTime,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A fresh random id: UUID 4 text."""
    """A fresh random id: UUID 4 text."""
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ID = String(36)
TZ = DateTime(timezone=True)
TIME_TEXT = String(32)  # RFC 3339 UTC text, as in event payloads
