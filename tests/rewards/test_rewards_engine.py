"""The reward rules, pure: the policy document and its hash, each farming attempt and the
points it did not get, vote damping, and the invariant over random histories: vested points
are what the published rules give for the final history, never more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.rewards import engine, policy, votes
from proofdesk.rewards.engine import Account, Basis, Book, GrantStatus, Refusal
from proofdesk.rewards.policy import PolicyError, Reason

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OLD = T0 - timedelta(days=400)
DAY = timedelta(days=1)


def make_policy(**changes: object) -> policy.Policy:
    document = policy.default().document
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            document = {**document, section: {**document[section], name: value}}
        else:
            document = {**document, section: value}
    return policy.from_document(document)


def customer(name: str, created: datetime = OLD, wallet: datetime | None = OLD) -> Account:
    return Account(id=name, created_at=created, is_customer=True, wallet_verified_at=wallet)


def feedback(ticket: str, who: str, replier: str = "agent") -> Basis:
    return Basis(Reason.VERIFIED_FEEDBACK, f"ticket:{ticket}", who, replier)


def answer(post: str, author: str, accepter: str) -> Basis:
    return Basis(Reason.ACCEPTED_ANSWER, f"answer:{post}", author, accepter)


# --- the document ---------------------------------------------------------------------------


def test_the_hash_is_of_the_canonical_document_not_its_formatting() -> None:
    a = policy.parse(policy.DEFAULT_SOURCE)
    b = policy.parse(policy.DEFAULT_SOURCE.replace("version: 1", "version: 1  # first"))
    c = policy.parse(json.dumps(a.document, indent=4))
    assert a.policy_hash == b.policy_hash == c.policy_hash
    assert a.policy_hash.startswith("sha256:") and len(a.policy_hash) == 71
    changed = policy.parse(policy.DEFAULT_SOURCE.replace("holding_days: 7", "holding_days: 8"))
    assert changed.policy_hash != a.policy_hash


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[1, 2]", "source"),
        ("kind: [", "source"),
        (policy.DEFAULT_SOURCE.replace("kind: RewardPolicy", "kind: Other"), "kind"),
        (
            policy.DEFAULT_SOURCE.replace("helpful_vote: 2", "helpful_vote: -2"),
            "points.helpful_vote",
        ),
        (policy.DEFAULT_SOURCE.replace("helpful_vote:", "likes:"), "points.likes"),
        (policy.DEFAULT_SOURCE.replace("holding_days: 7", "holding_days: x"), "holding_days"),
        (policy.DEFAULT_SOURCE.replace("unclaimed: keep", "unclaimed: burn"), "epoch.unclaimed"),
        (policy.DEFAULT_SOURCE.replace("  days: 7\n", ""), "epoch.days"),
        (
            policy.DEFAULT_SOURCE.replace("verified_wallet: true", "verified_wallet: 1"),
            "requirements.verified_wallet",
        ),
        (policy.DEFAULT_SOURCE + "extra: 1\n", "extra"),
        (policy.DEFAULT_SOURCE.replace('"1000000000000000000"', "1.5"), "token_per_point"),
        ("x" * (policy.MAX_POLICY_BYTES + 1), "source"),
    ],
)
def test_a_bad_policy_names_its_field(text: str, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy.parse(text)
    assert caught.value.details["field"] == field
    assert caught.value.code == "invalid_reward_policy"


# --- each farm, and what it did not get -----------------------------------------------------


def book(pol: policy.Policy | None = None, *accounts: Account) -> Book:
    people = {a.id: a for a in accounts} or {
        n: customer(n) for n in ("alice", "bob", "carol", "dave")
    }
    people["agent"] = Account("agent", OLD, is_customer=False, wallet_verified_at=None)
    return Book(pol or policy.default(), people)


def test_verified_feedback_is_granted_pending_then_vests() -> None:
    b = book()
    decision = b.appear(feedback("t1", "alice"), T0)
    assert decision.granted and decision.points == 10
    assert decision.rule == "points.verified_feedback"
    assert decision.vests_at == T0 + 7 * DAY
    assert b.balances(GrantStatus.PENDING) == {"alice": 10}
    b.vest(T0 + 7 * DAY - timedelta(seconds=1))
    assert b.balances(GrantStatus.VESTED) == {}
    b.vest(T0 + 7 * DAY)
    assert b.balances(GrantStatus.VESTED) == {"alice": 10}


def test_feedback_needs_a_human_reply_and_a_real_comment() -> None:
    pol = policy.default()
    assert engine.check_feedback(pol, "x" * 40, human_reply=False) is Refusal.NO_HUMAN_REPLY
    assert engine.check_feedback(pol, "great" + " " * 50, True) is Refusal.FEEDBACK_TOO_SHORT
    assert engine.check_feedback(pol, None, True) is Refusal.FEEDBACK_TOO_SHORT
    assert engine.check_feedback(pol, "x" * 40, True) is None


def test_no_reward_for_acting_on_your_own_content() -> None:
    b = book()
    # accepting your own answer
    assert b.appear(answer("a1", "alice", "alice"), T0).refused is Refusal.SELF_ACTION
    # voting for yourself
    self_vote = Basis(Reason.HELPFUL_VOTE, "vote:p1:alice", "alice", "alice")
    assert b.appear(self_vote, T0).refused is Refusal.SELF_ACTION
    # rating your own staff ticket: staff never earn, and a reply of your own is no reply
    assert b.appear(feedback("t1", "agent", "agent"), T0).refused is Refusal.STAFF_ACCOUNT
    assert b.appear(feedback("t2", "alice", "alice"), T0).refused is Refusal.SELF_ACTION
    assert b.grants == []


def test_one_reward_per_subject_and_reason_through_accept_unaccept_accept() -> None:
    b = book()
    assert b.appear(answer("a1", "alice", "bob"), T0).granted
    assert b.appear(answer("a1", "alice", "bob"), T0 + DAY).refused is Refusal.DUPLICATE
    assert b.appear(answer("a1", "alice", "carol"), T0 + DAY).refused is Refusal.DUPLICATE
    # unaccepted within the holding period: clawed back
    clawed = b.disappear(Reason.ACCEPTED_ANSWER, "answer:a1", T0 + 2 * DAY)
    assert [g.points for g in clawed] == [25]
    # accepted again: one live grant, with a new holding period
    assert b.appear(answer("a1", "alice", "bob"), T0 + 3 * DAY).granted
    assert b.appear(answer("a1", "alice", "bob"), T0 + 3 * DAY).refused is Refusal.DUPLICATE
    b.vest(T0 + 30 * DAY)
    assert b.balances(GrantStatus.VESTED) == {"alice": 25}
    # once vested, unaccepting keeps the points and accepting again gives nothing more
    assert b.disappear(Reason.ACCEPTED_ANSWER, "answer:a1", T0 + 31 * DAY) == []
    assert b.appear(answer("a1", "alice", "bob"), T0 + 32 * DAY).refused is Refusal.DUPLICATE
    b.vest(T0 + 60 * DAY)
    assert b.balances(GrantStatus.VESTED) == {"alice": 25}
    # the same subject under another reason is another reward
    promoted = Basis(Reason.ANSWER_PROMOTED, "answer:a1", "alice", "agent")
    assert b.appear(promoted, T0 + 60 * DAY).points == 50


def test_a_hidden_post_within_the_holding_period_loses_its_points() -> None:
    b = book()
    b.appear(answer("a1", "alice", "bob"), T0)
    b.disappear(Reason.ACCEPTED_ANSWER, "answer:a1", T0 + 7 * DAY - timedelta(seconds=1))
    b.vest(T0 + 100 * DAY)
    assert b.balances(GrantStatus.VESTED) == {}
    assert [g.status for g in b.grants] == [GrantStatus.CLAWED_BACK]


def test_per_user_per_day_cap() -> None:
    b = book()  # 50 a day; feedback is 10
    results = [b.appear(feedback(f"t{i}", "alice"), T0 + timedelta(minutes=i)) for i in range(7)]
    assert [r.points for r in results] == [10, 10, 10, 10, 10, 0, 0]
    assert results[5].refused is Refusal.DAILY_CAP
    assert results[5].rule == "caps.per_user_per_day"
    # a grant that would cross the cap is cut to what is left
    b2 = book()
    for i in range(4):
        b2.appear(feedback(f"t{i}", "alice"), T0)
    cut = b2.appear(answer("a1", "alice", "bob"), T0)
    assert (cut.points, cut.rule) == (10, "caps.per_user_per_day")
    # the next day is a new allowance; other accounts have their own
    assert b.appear(feedback("t9", "bob"), T0).points == 10
    assert b.appear(feedback("t10", "alice"), T0 + DAY).points == 10


def test_per_organization_per_epoch_cap() -> None:
    pol = make_policy(caps__per_org_per_epoch=25)
    b = book(pol)
    got = [b.appear(feedback(f"t{n}", n), T0).points for n in ("alice", "bob", "carol", "dave")]
    assert got == [10, 10, 5, 0]
    epoch = engine.epoch_at(pol, T0)
    assert epoch.start <= T0 < epoch.end and epoch.end - epoch.start == 7 * DAY
    assert b.appear(feedback("t5", "dave"), epoch.end).points == 10  # the next epoch


def test_account_age_and_verified_wallet() -> None:
    young = customer("young", created=T0 - 2 * DAY)
    walletless = customer("walletless", wallet=None)
    late = customer("late", wallet=T0 + DAY)
    b = book(None, young, walletless, late)
    assert b.appear(feedback("t1", "young"), T0).refused is Refusal.ACCOUNT_TOO_YOUNG
    assert b.appear(feedback("t2", "walletless"), T0).refused is Refusal.NO_VERIFIED_WALLET
    assert b.appear(feedback("t3", "late"), T0).refused is Refusal.NO_VERIFIED_WALLET
    assert b.appear(feedback("t3", "late"), T0 + DAY).granted
    assert b.appear(feedback("t1", "young"), T0 + DAY).granted
    relaxed = book(make_policy(requirements__verified_wallet=False), walletless)
    assert relaxed.appear(feedback("t2", "walletless"), T0).granted


def test_a_reason_without_points_gives_none() -> None:
    b = book(make_policy(points={"verified_feedback": 10}))
    assert b.appear(answer("a1", "alice", "bob"), T0).refused is Refusal.NO_POINTS


# --- votes -----------------------------------------------------------------------------------


def test_votes_between_the_same_two_accounts_count_once_per_period() -> None:
    pol = policy.default()  # once per 30 days, voters 7 days old
    born = {"alice": OLD, "bob": OLD, "carol": OLD}
    ring = [votes.Vote("bob", "alice", f"p{i}", T0 + timedelta(hours=i)) for i in range(10)] + [
        votes.Vote("alice", "bob", f"q{i}", T0 + timedelta(hours=i)) for i in range(10)
    ]
    counted = votes.counted(pol, ring, born)
    assert len(counted) == 1  # the pair, in either direction, counts once
    later = votes.counted(pol, [*ring, votes.Vote("bob", "alice", "p99", T0 + 31 * DAY)], born)
    assert len(later) == 2
    # a third account's vote is its own pair
    assert len(votes.counted(pol, [*ring, votes.Vote("carol", "alice", "p1", T0)], born)) == 2


def test_self_votes_young_voters_and_repeats_do_not_count() -> None:
    pol = make_policy(votes__pair_once_per_days=0)
    born = {"alice": OLD, "fresh": T0 - 6 * DAY, "bob": OLD}
    cast = [
        votes.Vote("alice", "alice", "p1", T0),
        votes.Vote("fresh", "alice", "p1", T0),
        votes.Vote("ghost", "alice", "p1", T0),
        votes.Vote("bob", "alice", "p1", T0),
        votes.Vote("bob", "alice", "p1", T0 + DAY),
    ]
    counted = votes.counted(pol, cast, born)
    assert [(v.voter_id, v.at) for v in counted] == [("bob", T0)]
    assert votes.counted(pol, [votes.Vote("fresh", "alice", "p2", T0 + DAY)], born) != []
    b = votes.basis(counted[0])
    assert (b.reason, b.account_id, b.actor_id) == (Reason.HELPFUL_VOTE, "alice", "bob")


# --- the invariant ---------------------------------------------------------------------------

ACCOUNTS = {
    "alice": customer("alice"),
    "bob": customer("bob"),
    "young": customer("young", created=T0 + 2 * DAY),
    "nowallet": customer("nowallet", wallet=T0 + 5 * DAY),
    "agent": Account("agent", OLD, is_customer=False, wallet_verified_at=None),
}
#: Each subject has one author, who is the one who would earn for it.
SUBJECTS = {
    f"answer:{i}": author
    for i, author in enumerate(["alice", "bob", "young", "nowallet", "agent", "alice"])
}
REASONS = [Reason.ACCEPTED_ANSWER, Reason.ANSWER_PROMOTED]

op = st.one_of(
    st.tuples(
        st.just("appear"),
        st.sampled_from(sorted(SUBJECTS)),
        st.sampled_from(REASONS),
        st.sampled_from(sorted(ACCOUNTS)),
        st.integers(0, 5 * 24),
    ),
    st.tuples(
        st.just("disappear"),
        st.sampled_from(sorted(SUBJECTS)),
        st.sampled_from(REASONS),
        st.just(""),
        st.integers(0, 5 * 24),
    ),
    st.tuples(
        st.just("vest"),
        st.just(""),
        st.just(Reason.ACCEPTED_ANSWER),
        st.just(""),
        st.integers(0, 5 * 24),
    ),
)


def entitled(
    pol: policy.Policy, history: list[tuple[str, str, Reason, str, datetime]], now: datetime
) -> dict[str, int]:
    """What the rules give, read straight off the history (without caps): per (subject,
    reason), a reward starts at the first appearance that passes the account rules while none
    is held; a disappearance before the holding period ends cancels it; it counts if it lasted
    the holding period."""
    hold = timedelta(days=pol.holding_days)
    out: dict[str, int] = {}
    for subject, author in SUBJECTS.items():
        for reason in REASONS:
            started: datetime | None = None
            done = False
            for kind, s, r, actor, at in history:
                if (s, r) != (subject, reason) or done:
                    continue
                if started is not None and at >= started + hold:
                    done = True
                    continue
                account = ACCOUNTS[author]
                if kind == "appear" and started is None:
                    ok = (
                        account.is_customer
                        and actor != author
                        and at - account.created_at >= timedelta(days=pol.account_min_age_days)
                        and account.wallet_verified_at is not None
                        and account.wallet_verified_at <= at
                    )
                    started = at if ok else None
                elif kind == "disappear":
                    started = None
            if done or (started is not None and now >= started + hold):
                out[author] = out.get(author, 0) + pol.points_for(reason)
    return out


def run(
    pol: policy.Policy, ops: list[tuple[str, str, Reason, str, int]]
) -> tuple[Book, list[tuple[str, str, Reason, str, datetime]], datetime]:
    b = Book(pol, dict(ACCOUNTS))
    at = T0
    history = []
    for kind, subject, reason, actor, hours in ops:
        at = at + timedelta(hours=hours)
        if kind == "appear":
            b.appear(Basis(reason, subject, SUBJECTS[subject], actor), at)
        elif kind == "disappear":
            b.disappear(reason, subject, at)
        else:
            b.vest(at)
        if kind != "vest":
            history.append((kind, subject, reason, actor, at))
    now = at + timedelta(hours=1)
    b.vest(now)
    return b, history, now


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=40))
def test_vested_points_are_what_the_rules_give_for_the_history(ops: list) -> None:
    pol = make_policy(caps__per_user_per_day=10**6, caps__per_org_per_epoch=10**9)
    b, history, now = run(pol, ops)
    assert b.balances(GrantStatus.VESTED) == entitled(pol, history, now)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=40), st.integers(0, 80), st.integers(0, 200))
def test_with_caps_never_more(ops: list, daily: int, per_epoch: int) -> None:
    pol = make_policy(caps__per_user_per_day=daily, caps__per_org_per_epoch=per_epoch)
    b, history, now = run(pol, ops)
    vested = b.balances(GrantStatus.VESTED)
    uncapped = entitled(pol, history, now)
    for account, points in vested.items():
        assert points <= uncapped.get(account, 0)
    live = [g for g in b.grants if g.live]
    keys = [(g.subject, g.reason) for g in live]
    assert len(keys) == len(set(keys))  # one live reward per (subject, reason)
    days: dict[tuple[str, object], int] = {}
    epochs: dict[int, int] = {}
    for g in live:
        key = (g.account_id, g.granted_at.date())
        days[key] = days.get(key, 0) + g.points
        number = engine.epoch_at(pol, g.granted_at).number
        epochs[number] = epochs.get(number, 0) + g.points
        assert g.points > 0 and ACCOUNTS[g.account_id].is_customer
    assert all(v <= daily for v in days.values())
    assert all(v <= per_epoch for v in epochs.values())
