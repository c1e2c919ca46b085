"""Business time against a minute-by-minute count: random calendars, instants across day and
week boundaries, holidays (China's, with its make-up working weekends), several time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from proofdesk.errors import InvalidInput
from proofdesk.sla.calendar import BusinessCalendar, Window

ZONES = ("UTC", "Asia/Shanghai", "Asia/Singapore", "Europe/Berlin", "America/New_York")


def minute_count(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """The reference: walk every minute and ask whether its wall-clock time is open."""
    count = 0
    moment = start
    while moment < end:
        local = moment.astimezone(calendar.zone)
        minute = local.hour * 60 + local.minute
        if any(w.start <= minute < w.end for w in calendar._windows_of(local.date())):
            count += 1
        moment += timedelta(minutes=1)
    return count


windows = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(5 * 60, 12 * 60).map(lambda m: m - m % 15),  # away from DST switch hours
        st.integers(15, 10 * 60).map(lambda m: m - m % 15),
    ),
    min_size=1,
    max_size=6,
)


def calendar_of(
    zone: str, raw: list[tuple[int, int, int]], country: str | None
) -> BusinessCalendar:
    chosen: dict[int, Window] = {}
    for day, start, length in raw:
        chosen.setdefault(day, Window(day, start, min(start + max(length, 15), 24 * 60)))
    return BusinessCalendar(zone, tuple(chosen.values()), country=country)


instants = st.datetimes(
    min_value=datetime(2026, 1, 20),
    max_value=datetime(2026, 3, 20),  # spans Chinese New Year
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(ZONES),
    windows,
    st.sampled_from([None, "CN", "DE", "US"]),
    instants,
    st.integers(0, 9 * 24 * 60),
)
def test_business_seconds_match_the_minute_count(
    zone: str, raw: list[tuple[int, int, int]], country: str | None, start: datetime, minutes: int
) -> None:
    calendar = calendar_of(zone, raw, country)
    end = start + timedelta(minutes=minutes)
    assert calendar.business_seconds(start, end) == minute_count(calendar, start, end) * 60


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(ZONES), windows, st.sampled_from([None, "CN"]), instants, st.integers(1, 3000)
)
def test_add_is_the_inverse_of_counting(
    zone: str, raw: list[tuple[int, int, int]], country: str | None, start: datetime, minutes: int
) -> None:
    calendar = calendar_of(zone, raw, country)
    weekly = sum(w.end - w.start for w in calendar.windows)
    assume(weekly * 50 >= minutes)  # within the horizon, holidays and all
    due = calendar.add(start, minutes * 60)
    assert calendar.business_seconds(start, due) == minutes * 60
    # ...and it is the first such instant: a minute earlier, less business time had passed.
    assert calendar.business_seconds(start, due - timedelta(minutes=1)) < minutes * 60


def test_chinese_holidays_and_make_up_days() -> None:
    weekdays = tuple(Window(d, 9 * 60, 18 * 60) for d in range(5))
    calendar = BusinessCalendar("Asia/Shanghai", weekdays, country="CN")
    assert calendar.is_closed(date(2026, 2, 17))  # Spring Festival
    spring = datetime(2026, 2, 16, tzinfo=UTC)
    assert calendar.business_seconds(spring, spring + timedelta(days=3)) == 0
    makeups = sorted(d for d in calendar._holidays.weekend_workdays if d.year == 2026)  # type: ignore[union-attr]
    assert makeups, "the holidays package lists China's make-up working days"
    saturday = datetime.combine(makeups[0], datetime.min.time()).replace(tzinfo=calendar.zone)
    assert calendar.business_seconds(saturday, saturday + timedelta(days=1)) == 9 * 3600


def test_nine_to_five_across_a_weekend() -> None:
    calendar = BusinessCalendar(
        "Europe/Berlin",
        tuple(Window(d, 9 * 60, 17 * 60) for d in range(5)),
        closed_days=frozenset({date(2026, 5, 4)}),
    )
    friday_4pm = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)  # 16:00 in Berlin (CEST)
    due = calendar.add(friday_4pm, 2 * 3600)  # one hour on Friday, one on Tuesday (Monday closed)
    assert due == datetime(2026, 5, 5, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "build",
    [
        lambda: BusinessCalendar("Mars/Olympus", (Window(0, 0, 60),)),
        lambda: BusinessCalendar("UTC", ()),
        lambda: BusinessCalendar("UTC", (Window(0, 60, 30),)),
        lambda: BusinessCalendar("UTC", (Window(7, 0, 30),)),
        lambda: BusinessCalendar("UTC", (Window(0, 0, 90), Window(0, 60, 120))),
        lambda: BusinessCalendar("UTC", (Window(0, 0, 60),), country="XX"),
        lambda: BusinessCalendar.always_open().add(datetime(2026, 1, 1), 60),
        lambda: BusinessCalendar.always_open().add(datetime(2026, 1, 1, tzinfo=UTC), -1),
    ],
)
def test_bad_calendars_and_arguments_are_clear_errors(build: object) -> None:
    with pytest.raises(InvalidInput):
        build()  # type: ignore[operator]


def test_a_calendar_closed_for_good_says_so() -> None:
    every_day = {date(2026, 1, 1) + timedelta(days=i) for i in range(4 * 366)}
    closed = BusinessCalendar("UTC", (Window(0, 0, 60),), closed_days=frozenset(every_day))
    with pytest.raises(InvalidInput, match="no business time"):
        closed.add(datetime(2026, 1, 1, tzinfo=UTC), 60)
