"""Inputs that more than one adapter checks the same way: the strict base of every request body,
and an SLA policy, which the API takes as JSON and the admin page as a form.

Bodies forbid unknown fields (a typo is an error, not a silently ignored setting) and NUL
characters. What a checked policy becomes is what ``actions.sla`` stores.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from proofdesk.domain.tickets import Kind, Priority
from proofdesk.errors import InvalidInput


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=64_000)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL text cannot hold U+0000 (SQLite can): refuse it on both backends alike,
        as bad input, instead of failing in the database."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if isinstance(value, list):
            for item in value:
                cls._no_nul(item)
        return value


class CalendarHoursIn(StrictInput):
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(min_length=1, max_length=7)
    start: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]
    end: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]


class CalendarIn(StrictInput):
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    hours: list[CalendarHoursIn] = Field(min_length=1, max_length=50)
    country: Annotated[str, StringConstraints(min_length=2, max_length=3)] | None = None
    subdivision: Annotated[str, StringConstraints(max_length=10)] | None = None
    closed_days: list[date] = Field(default_factory=list, max_length=1000)


class SlaPolicyIn(StrictInput):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    position: Annotated[int, Field(ge=0, le=10_000)] = 100
    kinds: list[Kind] | None = Field(default=None, description="Null: every kind.")
    priorities: list[Priority] | None = None
    tiers: list[Annotated[str, StringConstraints(min_length=1, max_length=32)]] | None = None
    first_response_minutes: Annotated[int, Field(ge=1, le=525_600)] | None = None
    next_response_minutes: Annotated[int, Field(ge=1, le=525_600)] | None = None
    periodic_update_minutes: Annotated[int, Field(ge=1, le=525_600)] | None = None
    resolution_minutes: Annotated[int, Field(ge=1, le=525_600)] | None = None
    warn_before_minutes: Annotated[int, Field(ge=0, le=10_080)] = 30
    escalate_to: Literal["high", "urgent"] | None = None
    calendar: CalendarIn | None = Field(default=None, description="Null: around the clock.")


def policy_values(body: SlaPolicyIn) -> dict[str, Any]:
    """The checked body as ``actions.sla`` takes it."""
    values = body.model_dump(mode="json")
    if body.calendar is not None:
        values["calendar"]["closed_days"] = [d.isoformat() for d in body.calendar.closed_days]
    return values


def checked_policy(data: dict[str, Any]) -> dict[str, Any]:
    """A policy built from a form, checked as the API checks its body; the first problem is
    an :class:`InvalidInput` naming the field."""
    try:
        return policy_values(SlaPolicyIn.model_validate(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "policy"
        raise InvalidInput(f"{where}: {first.get('msg', '')}", field=where) from None
