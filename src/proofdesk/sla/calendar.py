"""Business time: an organization's opening hours, time zone and public holidays, and how much
of it lies between two instants (or where a given amount of it ends).

An instant is business time when its wall-clock time in the calendar's zone falls in one of the
windows of that local date's weekday, and the date is not a holiday. Holidays come from the
``holidays`` package for the calendar's country (and subdivision), plus the organization's own
closed days; a country's make-up working days on a weekend (China's 调休, say) follow Monday's
hours. Window boundaries are wall-clock minutes; ProofDesk assumes none falls inside a daylight
saving transition (business hours do not start at 02:30).

SLA timers (``proofdesk.sla``) measure targets in this time; ``tests/unit/test_sla_calendar.py``
checks both functions against a minute-by-minute count.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from proofdesk.errors import InvalidInput

#: How far :meth:`BusinessCalendar.add` looks before deciding no business time is left.
HORIZON_DAYS = 3 * 366
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Window:
    """Opening hours on one weekday (0 = Monday): minutes from local midnight, end exclusive;
    ``end`` may be 1440 (midnight at the end of the day)."""

    weekday: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise InvalidInput("weekday must be 0 (Monday) to 6 (Sunday)", field="weekday")
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise InvalidInput(
                "a window runs from a start minute to a later end minute within the day",
                field="hours",
            )


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    windows: tuple[Window, ...]
    country: str | None = None
    subdivision: str | None = None
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {self.timezone!r}", field="timezone") from None
        if not self.windows:
            raise InvalidInput("a calendar needs opening hours", field="hours")
        days: dict[int, list[Window]] = {}
        for window in self.windows:
            days.setdefault(window.weekday, []).append(window)
        for same_day in days.values():
            same_day.sort(key=lambda w: w.start)
            for earlier, later in itertools.pairwise(same_day):
                if later.start < earlier.end:
                    raise InvalidInput("opening hours of one day overlap", field="hours")
        if self.country is not None:
            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError:
                raise InvalidInput(
                    f"no holiday calendar for {self.country!r} / {self.subdivision!r}",
                    field="country",
                ) from None

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        return cls("UTC", tuple(Window(day, 0, MINUTES_PER_DAY) for day in range(7)))

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase | None:
        if self.country is None:
            return None
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_closed(self, day: date) -> bool:
        if day in self.closed_days:
            return True
        return self._holidays is not None and day in self._holidays

    def _windows_of(self, day: date) -> list[Window]:
        if self.is_closed(day):
            return []
        weekday = day.weekday()
        table = self._holidays
        if table is not None and day in getattr(table, "weekend_workdays", ()):
            weekday = 0  # a make-up working day keeps Monday's hours
        return sorted((w for w in self.windows if w.weekday == weekday), key=lambda w: w.start)

    def _local(self, day: date, minute: int) -> datetime:
        """The instant whose wall-clock time is ``minute`` past local midnight of ``day``
        (wall-clock arithmetic first; fold=0 on an ambiguous time)."""
        wall = datetime.combine(day, time(0)) + timedelta(minutes=minute)
        return wall.replace(tzinfo=self.zone)

    def intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The business intervals within ``[start, end)``, in order (aware UTC datetimes)."""
        _aware(start)
        _aware(end)
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            for window in self._windows_of(day):
                opens = self._local(day, window.start).astimezone(UTC)
                closes = self._local(day, window.end).astimezone(UTC)
                lo, hi = max(opens, start), min(closes, end)
                if lo < hi:
                    yield lo, hi
            day += timedelta(days=1)

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Business seconds between two instants (0 if ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        return sum((hi - lo).total_seconds() for lo, hi in self.intervals(start, end))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which ``seconds`` of business time have passed since ``start``."""
        _aware(start)
        if seconds < 0:
            raise InvalidInput("a duration cannot be negative", field="seconds")
        left = seconds
        horizon = start + timedelta(days=HORIZON_DAYS)
        for lo, hi in self.intervals(start, horizon):
            span = (hi - lo).total_seconds()
            if left <= span:
                return lo + timedelta(seconds=left) if left > 0 else lo
            left -= span
        raise InvalidInput(
            f"the calendar has no business time within {HORIZON_DAYS} days", field="hours"
        )


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise InvalidInput("times must carry their time zone", field="time")
