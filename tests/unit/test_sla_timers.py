"""SLA timers against a minute-by-minute simulation: random event sequences across business
hours, holidays, time zones, pauses and reopenings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.sla.calendar import BusinessCalendar, Window
from proofdesk.sla.timers import Clock, Policy, SlaEvent, time_to_breach, timer, timers

START = datetime(2026, 9, 28, 0, 0, tzinfo=UTC)  # just before China's National Day week


def simulate(
    calendar: BusinessCalendar,
    events: list[SlaEvent],
    target: str,
    goal_minutes: int,
    now: datetime,
) -> tuple[int, datetime | None, bool]:
    """(business minutes counted, breach instant, met), walking every minute: the same rules of
    when a clock runs (:class:`Clock`), an independent count of the time it ran."""
    ordered = sorted(events, key=lambda e: e.at)
    clock = Clock(target)
    counted, breached = 0, None
    index = 0
    moment = ordered[0].at
    while moment < now:
        while index < len(ordered) and ordered[index].at <= moment:
            clock.apply(ordered[index])
            if target == "periodic_update" and ordered[index].kind == "staff_reply":
                counted, breached = 0, None  # each reply starts a new count
            index += 1
        if clock.running and calendar.business_seconds(moment, moment + timedelta(minutes=1)) == 60:
            counted += 1
            if counted == goal_minutes and breached is None:
                breached = moment + timedelta(minutes=1)
        moment += timedelta(minutes=1)
    for event in ordered[index:]:  # events at ``now`` itself count for the state
        if event.at <= now:
            clock.apply(event)
            if target == "periodic_update" and event.kind == "staff_reply":
                counted, breached = 0, None
    return counted, breached, clock.stopped_for_good


kinds = st.sampled_from(["staff_reply", "customer_reply", "status"])
statuses = st.sampled_from(["open", "pending", "on_hold", "solved", "open", "closed"])


@st.composite
def histories(draw: st.DrawFn) -> list[SlaEvent]:
    offsets = sorted(draw(st.lists(st.integers(1, 5 * 24 * 60), min_size=0, max_size=8)))
    events = [SlaEvent(START + timedelta(minutes=draw(st.integers(0, 600))), "created", "new")]
    for offset in offsets:
        kind = draw(kinds)
        at = events[0].at + timedelta(minutes=offset)
        events.append(SlaEvent(at, kind, draw(statuses) if kind == "status" else None))
    return events


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "UTC"]),
    st.sampled_from([None, "CN"]),
    histories(),
    st.sampled_from(["first_response", "next_response", "resolution", "periodic_update"]),
    st.integers(30, 16 * 60).map(lambda m: m - m % 15),
    st.integers(60, 7 * 24 * 60),
)
def test_timers_match_a_minute_by_minute_simulation(
    zone: str, country: str | None, events: list[SlaEvent], target: str, goal: int, horizon: int
) -> None:
    calendar = BusinessCalendar(
        zone, tuple(Window(d, 9 * 60, 18 * 60) for d in range(5)), country=country
    )
    policy = Policy(**{f"{target}_minutes": goal})
    now = events[0].at + timedelta(minutes=horizon)
    got = timer(calendar, policy, events, target, now)
    assert got is not None
    counted, breached, met = simulate(
        calendar, [e for e in events if e.at <= now], target, goal, now
    )
    assert got.elapsed_seconds == counted * 60
    late = breached is not None and (counted > goal or got.state in ("running", "breached"))
    assert (got.breached_at if got.breached_at else None) == (breached if late else None)
    if got.state in ("met", "met_late"):
        assert met
    if got.state == "running":
        assert got.due_at is not None and got.due_at >= now


def test_a_paused_ticket_stops_the_clock_and_the_queue_sorts_by_breach() -> None:
    calendar = BusinessCalendar.always_open()
    created = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    policy = Policy(first_response_minutes=60, resolution_minutes=240, warn_before_minutes=15)
    events = [
        SlaEvent(created, "created", "new"),
        SlaEvent(created + timedelta(minutes=20), "status", "pending"),
        SlaEvent(created + timedelta(minutes=80), "status", "open"),
    ]
    now = created + timedelta(minutes=90)
    first, resolution = timers(calendar, policy, events, now)
    assert first.elapsed_seconds == 30 * 60  # 20 before the pause, 10 after
    assert first.state == "running" and first.due_at == now + timedelta(minutes=30)
    assert first.warn_at == now + timedelta(minutes=15)
    assert time_to_breach([first, resolution], now) == timedelta(minutes=30)
    replied = [*events, SlaEvent(now, "staff_reply")]
    assert (
        timer(calendar, policy, replied, "first_response", now + timedelta(hours=5)).state == "met"
    )  # type: ignore[union-attr]
    late = timer(calendar, policy, events, "first_response", created + timedelta(hours=3))
    assert late is not None and late.state == "breached"
    assert late.breached_at == created + timedelta(minutes=120)
