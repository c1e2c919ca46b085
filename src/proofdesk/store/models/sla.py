"""SLA policies, the ``ticket_sla`` projection and macros (see :mod:`proofdesk.sla`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TIME_TEXT, TZ, Base


class SlaPolicy(Base):
    """Response and resolution targets for the tickets it matches; the first matching policy
    by ``position`` applies. ``kinds``, ``priorities`` and ``tiers`` are JSON lists (null:
    any); ``calendar`` is the business calendar's JSON (null: around the clock)."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_sla_policies_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    kinds: Mapped[str | None] = mapped_column(Text)
    priorities: Mapped[str | None] = mapped_column(Text)
    tiers: Mapped[str | None] = mapped_column(Text)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    periodic_update_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warn_before_minutes: Mapped[int] = mapped_column(Integer)
    #: On a breach, raise the ticket to this priority (null: leave it).
    escalate_to: Mapped[str | None] = mapped_column(String(16))
    calendar: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class TicketSla(Base):
    """Projection: a ticket's SLA timers under its policy, recomputed from its events.
    ``due_at`` is when the first running target breaches (or did), for sorting a queue."""

    __tablename__ = "ticket_sla"
    __table_args__ = (
        Index("ix_ticket_sla_org_due", "organization_id", "due_at"),
        Index("ix_ticket_sla_alert_at", "alert_at"),
    )
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    policy_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[str] = mapped_column(TIME_TEXT)
    warn_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    #: When the next warning or breach not yet in the stream falls due (the sweep's index).
    alert_at: Mapped[str] = mapped_column(TIME_TEXT)
    timers: Mapped[str] = mapped_column(Text)  # JSON
    #: Alerts already in the stream (``sla.warning``/``sla.breached`` keys), JSON list.
    alerted: Mapped[str] = mapped_column(Text, default="[]")


class Macro(Base):
    """A named set of actions an agent applies to a ticket in one click (the same actions as
    automation rules, and replies with their own text)."""

    __tablename__ = "macros"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_macros_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)  # JSON {"en", "zh-CN"}
    actions: Mapped[str] = mapped_column(Text)  # JSON list
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: Shared with one team only (none: with the whole organization), unless personal.
    team_id: Mapped[str | None] = mapped_column(ID)
    #: A personal macro: only its owner sees, applies and edits it.
    owner_id: Mapped[str | None] = mapped_column(ID)
