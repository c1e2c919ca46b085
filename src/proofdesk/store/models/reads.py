"""Which tickets each member of staff has read, and up to which event: the console's unread
markers (a ticket is unread while it has events after the one its reader last saw)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base


class TicketRead(Base):
    __tablename__ = "ticket_reads"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    #: The ticket's last event (``tickets.last_seq``) when its reader last opened it.
    seq: Mapped[int] = mapped_column(BigInteger)
    read_at: Mapped[datetime] = mapped_column(TZ)
