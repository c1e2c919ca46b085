"""Laws of the ticket reducer (``proofdesk.domain.tickets``): pure, no database.

The reducer is the single definition of a ticket's state: actions fold each new event through
it, ``rebuild`` folds the whole stream through it. So its invariants are checked here against
random event sequences, not just the paths the actions happen to take today.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from proofdesk.canonical import format_time
from proofdesk.domain.tickets import (
    EDITABLE_FIELDS,
    TRANSITIONS,
    Event,
    EventType,
    Kind,
    Priority,
    Status,
    TicketState,
    Visibility,
    apply_event,
    check_transition,
    replay,
)
from proofdesk.errors import Error, InvalidInput, InvalidTransition

TICKET = "00000000-0000-4000-8000-000000000001"
ORG = "00000000-0000-4000-8000-0000000000aa"
REQUESTER = "00000000-0000-4000-8000-00000000c001"
AGENTS = ("00000000-0000-4000-8000-00000000a001", "00000000-0000-4000-8000-00000000a002")
TEAM = "00000000-0000-4000-8000-00000000b001"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

statuses = st.sampled_from(list(Status))
tag_words = st.sampled_from(["refund", "vip", "usdt", "bridge", "l2", "kyc", "urgent-chain"])


def at(step: int) -> str:
    return format_time(EPOCH + timedelta(seconds=step))


def created(*, tags: list[str] | None = None, seq: int = 0, ticket_seq: int = 1) -> Event:
    payload: dict[str, Any] = {
        "organization_id": ORG,
        "number": 1,
        "kind": Kind.QUESTION.value,
        "subject": "Withdrawal pending",
        "status": Status.NEW.value,
        "priority": Priority.NORMAL.value,
        "channel": "web",
        "requester_id": REQUESTER,
        "category": None,
        "tags": tags or [],
        "team_id": None,
        "assignee_id": None,
    }
    return Event(seq, TICKET, ticket_seq, EventType.CREATED, REQUESTER, at(0), payload)


def follow(state: TicketState, type: EventType, payload: dict[str, Any], *, step: int) -> Event:
    """The next event of ``state``'s ticket, as ``EventAppender`` would number it."""
    return Event(
        seq=state.last_seq + 1,
        ticket_id=state.id,
        ticket_seq=state.last_ticket_seq + 1,
        type=type,
        actor_id=AGENTS[0],
        occurred_at=at(step),
        payload=payload,
    )


def message(
    author_id: str, role: str, visibility: Visibility, status: Status | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "message_id": f"m-{author_id}",
        "author_id": author_id,
        "author_role": role,
        "visibility": visibility.value,
        "body": "hello",
        "attachments": [],
    }
    if status is not None:
        payload["status"] = status.value
    return payload


def check_status_times(state: TicketState, *, closed_after_solved: bool) -> None:
    """``solved_at`` iff solved (or closed straight from solved); ``closed_at`` iff closed."""
    expect_solved = state.status is Status.SOLVED or (
        state.status is Status.CLOSED and closed_after_solved
    )
    assert (state.solved_at is not None) == expect_solved, state
    assert (state.closed_at is not None) == (state.status is Status.CLOSED), state


# --- the transition table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a, b in itertools.product(Status, Status) if b not in TRANSITIONS[a]],
    ids=str,
)
def test_transition_outside_table_is_rejected_with_details(current: Status, target: Status) -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition(current, target)
    assert caught.value.code == "invalid_transition"
    assert caught.value.details == {
        "from": current.value,
        "to": target.value,
        "allowed": sorted(s.value for s in TRANSITIONS[current]),
    }


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a, b in itertools.product(Status, Status) if b in TRANSITIONS[a]],
    ids=str,
)
def test_transition_in_table_is_allowed(current: Status, target: Status) -> None:
    check_transition(current, target)


def test_table_shape() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert TRANSITIONS[Status.CLOSED] == frozenset()
    assert all(s not in TRANSITIONS[s] for s in Status), "no self-transitions"
    # Only a solved ticket can be closed by a status change (merging closes by other means).
    assert {s for s in Status if Status.CLOSED in TRANSITIONS[s]} == {Status.SOLVED}


# --- (a) random status sequences -----------------------------------------------------------


@given(st.lists(st.tuples(statuses, st.booleans()), max_size=40))
def test_random_status_sequences_follow_the_table(steps: list[tuple[Status, bool]]) -> None:
    """Each move succeeds iff the table allows it, via a status change or a reply that moves
    the ticket, and the status-derived fields stay consistent after every step."""
    state = apply_event(None, created())
    events = [created()]
    closed_after_solved = False
    last_solved_at: str | None = None
    for step, (target, by_reply) in enumerate(steps, start=1):
        before = state
        allowed = target in TRANSITIONS[before.status]
        if by_reply:
            payload = message(AGENTS[0], "agent", Visibility.INTERNAL, target)
            event = follow(before, EventType.MESSAGE_ADDED, payload, step=step)
        else:
            payload = {"from": before.status.value, "to": target.value}
            event = follow(before, EventType.STATUS_CHANGED, payload, step=step)
        if not allowed:
            with pytest.raises(InvalidTransition):
                check_transition(before.status, target)
            with pytest.raises(InvalidTransition):
                apply_event(before, event)
            continue
        check_transition(before.status, target)
        state = apply_event(before, event)
        events.append(event)
        assert before.status is not Status.CLOSED, "closed is terminal"
        assert state.status is target
        assert state.last_ticket_seq == before.last_ticket_seq + 1
        assert state.last_seq == event.seq
        assert state.updated_at == event.occurred_at
        if target is Status.SOLVED:
            last_solved_at = event.occurred_at
        if target is Status.CLOSED:
            closed_after_solved = before.status is Status.SOLVED
            assert state.closed_at == event.occurred_at
            assert state.solved_at == last_solved_at
        check_status_times(state, closed_after_solved=closed_after_solved)
        if state.status is Status.SOLVED:
            assert state.solved_at == event.occurred_at
    assert replay(events) == state


# --- (b) a state machine over one ticket ---------------------------------------------------

AUTHORS = {  # name -> (user id, role)
    "requester": (REQUESTER, "customer"),
    "agent": (AGENTS[0], "agent"),
    "agent2": (AGENTS[1], "agent"),
}


@dataclass
class Expected:
    """What the events so far say the ticket should look like, computed independently."""

    status: Status = Status.NEW
    message_count: int = 0
    first_response_at: str | None = None
    tags: set[str] = field(default_factory=set)
    closed_after_solved: bool = False
    merged_into_id: str | None = None


class TicketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.events: list[Event] = []
        self.state: TicketState | None = None
        self.expected = Expected()

    # One step: build the next event, fold it, and keep it only if it applied.
    def fold(self, type: EventType, payload: dict[str, Any], *, allowed: bool = True) -> bool:
        assert self.state is not None
        self.steps += 1
        event = follow(self.state, type, payload, step=self.steps)
        if not allowed:
            with pytest.raises(InvalidTransition):
                apply_event(self.state, event)
            return False
        before = self.state
        self.state = apply_event(before, event)
        self.events.append(event)
        assert self.state.last_ticket_seq == before.last_ticket_seq + 1
        assert self.state.updated_at == event.occurred_at
        return True

    def move(self, target: Status) -> None:
        """Record a successful status move in the model."""
        if target is Status.CLOSED:
            self.expected.closed_after_solved = self.expected.status is Status.SOLVED
        self.expected.status = target

    @precondition(lambda self: self.state is None)
    @rule(tags=st.lists(tag_words, max_size=4, unique=True))
    def create(self, tags: list[str]) -> None:
        event = created(tags=sorted(tags))
        self.state = apply_event(None, event)
        self.events.append(event)
        self.expected.tags = set(tags)

    @precondition(lambda self: self.state is not None)
    @rule(author=st.sampled_from(sorted(AUTHORS)), status=st.none() | statuses)
    def reply(self, author: str, status: Status | None) -> None:
        assert self.state is not None
        user_id, role = AUTHORS[author]
        allowed = status is None or status in TRANSITIONS[self.expected.status]
        payload = message(user_id, role, Visibility.PUBLIC, status)
        if self.fold(EventType.MESSAGE_ADDED, payload, allowed=allowed):
            # The first message is the request itself, whoever wrote it: not a response.
            is_response = self.expected.message_count > 0 and role != "customer"
            self.expected.message_count += 1
            if self.expected.first_response_at is None and is_response:
                self.expected.first_response_at = self.state.updated_at
            if status is not None:
                self.move(status)

    @precondition(lambda self: self.state is not None)
    @rule(author=st.sampled_from(["agent", "agent2"]))
    def internal_note(self, author: str) -> None:
        user_id, role = AUTHORS[author]
        self.fold(EventType.MESSAGE_ADDED, message(user_id, role, Visibility.INTERNAL))
        self.expected.message_count += 1

    @precondition(lambda self: self.state is not None)
    @rule(to=statuses)
    def change_status(self, to: Status) -> None:
        assert self.state is not None
        allowed = to in TRANSITIONS[self.expected.status]
        payload = {"from": self.state.status.value, "to": to.value}
        if self.fold(EventType.STATUS_CHANGED, payload, allowed=allowed):
            self.move(to)

    @precondition(lambda self: self.state is not None)
    @rule(assignee=st.none() | st.sampled_from(AGENTS), team=st.none() | st.just(TEAM))
    def assign(self, assignee: str | None, team: str | None) -> None:
        assert self.state is not None
        payload = {
            "assignee_id": assignee,
            "team_id": team,
            "previous_assignee_id": self.state.assignee_id,
            "previous_team_id": self.state.team_id,
        }
        self.fold(EventType.ASSIGNED, payload)
        assert self.state.assignee_id == assignee
        assert self.state.team_id == team

    @precondition(lambda self: self.state is not None)
    @rule(added=st.lists(tag_words, max_size=4), removed=st.lists(tag_words, max_size=4))
    def change_tags(self, added: list[str], removed: list[str]) -> None:
        # Unsorted, repeated and overlapping on purpose: the reducer must normalize.
        self.fold(EventType.TAGS_CHANGED, {"added": added, "removed": removed})
        self.expected.tags = (self.expected.tags | set(added)) - set(removed)

    @precondition(lambda self: self.state is not None)
    @rule(
        name=st.sampled_from(EDITABLE_FIELDS),
        kind=st.sampled_from(list(Kind)),
        priority=st.sampled_from(list(Priority)),
        number=st.integers(1, 2**53 - 1),
    )
    def change_field(self, name: str, kind: Kind, priority: Priority, number: int) -> None:
        assert self.state is not None
        value: Any = {
            "kind": kind.value,
            "priority": priority.value,
            "chain_id": number,
            "wallet_address": f"0x{number:040x}",
            "tx_hash": f"0x{number:064x}",
        }.get(name, f"{name}-{number}")
        old = getattr(self.state, name)
        self.fold(EventType.FIELDS_CHANGED, {"changes": {name: {"from": old, "to": value}}})
        assert getattr(self.state, name) == value
        assert isinstance(self.state.kind, Kind)
        assert isinstance(self.state.priority, Priority)

    @precondition(lambda self: self.state is not None)
    @rule()
    def merge_away(self) -> None:
        assert self.state is not None
        into = "00000000-0000-4000-8000-000000000002"
        payload = {"into_ticket_id": into, "from_status": self.state.status.value}
        allowed = self.expected.status is not Status.CLOSED
        if self.fold(EventType.MERGED, payload, allowed=allowed):
            self.move(Status.CLOSED)
            self.expected.merged_into_id = into

    @invariant()
    def matches_model(self) -> None:
        state, expected = self.state, self.expected
        if state is None:
            return
        assert state.status is expected.status
        assert state.message_count == expected.message_count
        assert state.message_count == sum(e.type is EventType.MESSAGE_ADDED for e in self.events)
        assert state.first_response_at == expected.first_response_at
        assert list(state.tags) == sorted(set(state.tags)), "tags sorted and unique"
        assert set(state.tags) == expected.tags
        assert state.merged_into_id == expected.merged_into_id
        check_status_times(state, closed_after_solved=expected.closed_after_solved)

    @invariant()
    def stream_is_consistent(self) -> None:
        if self.state is None:
            return
        assert [e.ticket_seq for e in self.events] == list(range(1, len(self.events) + 1))
        assert self.state.last_ticket_seq == len(self.events)
        assert self.state.updated_at == self.events[-1].occurred_at
        assert replay(self.events) == self.state


TicketMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
test_ticket_machine = TicketMachine.TestCase


# --- (c) malformed streams are refused with our own errors ---------------------------------


def _events_after_creation() -> list[tuple[EventType, dict[str, Any]]]:
    return [
        (EventType.MESSAGE_ADDED, message(AGENTS[0], "agent", Visibility.PUBLIC)),
        (EventType.STATUS_CHANGED, {"from": "new", "to": "open"}),
        (EventType.ASSIGNED, {"assignee_id": AGENTS[0], "team_id": None}),
        (EventType.FIELDS_CHANGED, {"changes": {"subject": {"from": "a", "to": "b"}}}),
        (EventType.TAGS_CHANGED, {"added": ["vip"], "removed": []}),
        (EventType.MERGED, {"into_ticket_id": TICKET, "from_status": "new"}),
        (EventType.MERGE_RECEIVED, {"from_ticket_id": TICKET}),
    ]


@pytest.mark.parametrize(("type", "payload"), _events_after_creation(), ids=lambda v: str(v)[:20])
def test_event_before_creation_is_rejected(type: EventType, payload: dict[str, Any]) -> None:
    event = Event(0, TICKET, 1, type, AGENTS[0], at(0), payload)
    with pytest.raises(Error) as caught:
        apply_event(None, event)
    assert isinstance(caught.value, InvalidInput)
    with pytest.raises(InvalidInput):
        replay([event])


def test_second_creation_is_rejected() -> None:
    state = apply_event(None, created())
    with pytest.raises(InvalidInput):
        apply_event(state, created(seq=1, ticket_seq=2))


def test_empty_replay_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        replay([])


@pytest.mark.parametrize("ticket_seq", [0, 2, -1])
def test_creation_must_be_the_first_ticket_event(ticket_seq: int) -> None:
    with pytest.raises(InvalidInput):
        apply_event(None, created(ticket_seq=ticket_seq))


@given(
    history=st.integers(0, 6),
    index=st.integers(0, len(_events_after_creation()) - 1),
    data=st.data(),
)
def test_out_of_order_ticket_seq_is_rejected(history: int, index: int, data: st.DataObject) -> None:
    state = apply_event(None, created())
    for step in range(1, history + 1):
        note = message(AGENTS[0], "agent", Visibility.INTERNAL)
        state = apply_event(state, follow(state, EventType.MESSAGE_ADDED, note, step=step))
    expected_next = state.last_ticket_seq + 1
    wrong = data.draw(st.integers(-3, expected_next + 5).filter(lambda n: n != expected_next))
    type, payload = _events_after_creation()[index]
    event = Event(state.last_seq + 1, TICKET, wrong, type, AGENTS[0], at(99), payload)
    with pytest.raises(InvalidInput) as caught:
        apply_event(state, event)
    assert caught.value.details == {"ticket_id": TICKET, "expected": expected_next, "got": wrong}


def test_swapped_events_fail_replay_with_our_error() -> None:
    first = created()
    state = apply_event(None, first)
    second = follow(state, EventType.STATUS_CHANGED, {"from": "new", "to": "open"}, step=1)
    third = follow(
        apply_event(state, second), EventType.TAGS_CHANGED, {"added": ["a"], "removed": []}, step=2
    )
    assert replay([first, second, third]).tags == ("a",)
    with pytest.raises(InvalidInput):
        replay([first, third, second])
    with pytest.raises(InvalidInput):
        replay([second, first, third])


def test_uneditable_field_is_rejected() -> None:
    state = apply_event(None, created())
    event = follow(
        state, EventType.FIELDS_CHANGED, {"changes": {"status": {"to": "closed"}}}, step=1
    )
    with pytest.raises(InvalidInput):
        apply_event(state, event)


def test_merging_a_closed_ticket_is_rejected() -> None:
    state = apply_event(None, created())
    merged = {"into_ticket_id": "x", "from_status": "new"}
    state = apply_event(state, follow(state, EventType.MERGED, merged, step=1))
    assert state.status is Status.CLOSED
    assert state.solved_at is None
    assert state.closed_at == at(1)
    with pytest.raises(InvalidTransition):
        apply_event(state, follow(state, EventType.MERGED, merged, step=2))
