"""What was imported from another help desk: the map from its ids to ours.

One row per (organization, source system, kind, source id). It is what makes an import
resumable and idempotent: a ticket whose row holds the same fingerprint is skipped, a changed
one gets only the events for what changed, and a person is matched to the customer already
made for them (or for their e-mail address) instead of a second one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base


class ImportedRecord(Base):
    """One source object and what it became here (``kind``: ticket, comment, user,
    attachment, article)."""

    __tablename__ = "imported_records"
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    system: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    target_id: Mapped[str] = mapped_column(ID, index=True)
    #: SHA-256 of the mapped source object: unchanged at the source means nothing to do.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: What the source object was last imported as (JSON): the state the next run diffs from.
    imported_as: Mapped[str] = mapped_column(Text, default="{}")
    imported_at: Mapped[datetime] = mapped_column(TZ)
