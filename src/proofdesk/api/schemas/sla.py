"""The request and response bodies of ``api/routes/sla.py``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SlaPolicyOut(BaseModel):
    id: int
    name: str
    position: int
    kinds: list[str] | None
    priorities: list[str] | None
    tiers: list[str] | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    periodic_update_minutes: int | None
    resolution_minutes: int | None
    warn_before_minutes: int
    escalate_to: str | None
    calendar: dict[str, Any] | None


class TicketSlaOut(BaseModel):
    policy: SlaPolicyOut | None
    due_at: str | None = Field(description="When the first running target breaches (or did).")
    timers: list[dict[str, Any]]
