"""Deciding a grant and its clawback, pure: the anti-farming rules of a :class:`Policy`.

A *basis* is what points would be given for: a reason, a subject (``ticket:<id>``,
``answer:<id>``, …), the account that would earn them and the account whose act caused them
(the accepter, the voter, the staff member who replied). :func:`decide` looks at the basis, the
earner and the organization's earlier grants and either grants points (pending until
``vests_at``) or refuses, naming the policy rule that refused. A grant whose basis disappears
before it vests (an answer unaccepted, a post hidden, a rating withdrawn) is clawed back
(:func:`may_claw_back`); once vested it stays. The same functions run in
``actions.rewards`` (over stored grants) and in :class:`Book` (in memory, for replays and
property tests), so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from proofdesk.rewards.policy import Policy, Reason

UNIX = datetime(1970, 1, 1, tzinfo=UTC)


class GrantStatus(StrEnum):
    PENDING = "pending"
    VESTED = "vested"
    CLAWED_BACK = "clawed_back"


class Refusal(StrEnum):
    """Why a basis gave no points; each names the rule of the policy that refused it."""

    NO_POINTS = "no_points"  # the policy gives this reason 0 points
    STAFF_ACCOUNT = "staff_account"  # staff do not earn rewards from their own desk
    SELF_ACTION = "self_action"  # acting on your own content
    DUPLICATE = "duplicate"  # this (subject, reason) already has a live grant
    ACCOUNT_TOO_YOUNG = "account_too_young"
    NO_VERIFIED_WALLET = "no_verified_wallet"
    DAILY_CAP = "daily_cap"
    EPOCH_CAP = "epoch_cap"
    FEEDBACK_TOO_SHORT = "feedback_too_short"
    NO_HUMAN_REPLY = "no_human_reply"


#: The policy field each refusal applies.
RULE_OF: dict[Refusal, str] = {
    Refusal.NO_POINTS: "points",
    Refusal.STAFF_ACCOUNT: "requirements",
    Refusal.SELF_ACTION: "self",
    Refusal.DUPLICATE: "once_per_subject",
    Refusal.ACCOUNT_TOO_YOUNG: "requirements.account_min_age_days",
    Refusal.NO_VERIFIED_WALLET: "requirements.verified_wallet",
    Refusal.DAILY_CAP: "caps.per_user_per_day",
    Refusal.EPOCH_CAP: "caps.per_org_per_epoch",
    Refusal.FEEDBACK_TOO_SHORT: "feedback_min_chars",
    Refusal.NO_HUMAN_REPLY: "points.verified_feedback",
}


@dataclass(frozen=True)
class Account:
    """What the rules need to know of an earner."""

    id: str
    created_at: datetime
    is_customer: bool
    wallet_verified_at: datetime | None


@dataclass(frozen=True)
class Basis:
    reason: Reason
    subject: str
    account_id: str  # who would earn
    actor_id: str | None  # whose act caused it


@dataclass(frozen=True)
class Grant:
    id: str
    reason: Reason
    subject: str
    account_id: str
    points: int
    granted_at: datetime
    vests_at: datetime
    status: GrantStatus
    rule: str

    @property
    def live(self) -> bool:
        return self.status is not GrantStatus.CLAWED_BACK


@dataclass(frozen=True)
class Decision:
    points: int
    rule: str  # the policy field that gave (or limited, or refused) the points
    refused: Refusal | None = None
    vests_at: datetime | None = None

    @property
    def granted(self) -> bool:
        return self.refused is None


def refuse(reason: Refusal) -> Decision:
    return Decision(points=0, rule=RULE_OF[reason], refused=reason)


@dataclass(frozen=True)
class Epoch:
    number: int
    start: datetime
    end: datetime


def epoch_at(policy: Policy, at: datetime) -> Epoch:
    """Epochs are ``epoch.days`` long, aligned to multiples of that length since 1970 (like the
    token's mint periods), so every process agrees on them without a stored calendar."""
    length = timedelta(days=policy.epoch_days)
    number = (at - UNIX) // length
    start = UNIX + number * length
    return Epoch(number=number, start=start, end=start + length)


def check_feedback(policy: Policy, comment: str | None, human_reply: bool) -> Refusal | None:
    """Verified feedback: a comment of ``feedback_min_chars`` or more on a ticket that had a
    public reply from a person (not the assistant, not an automation)."""
    if not human_reply:
        return Refusal.NO_HUMAN_REPLY
    if comment is None or len(comment.strip()) < policy.feedback_min_chars:
        return Refusal.FEEDBACK_TOO_SHORT
    return None


def decide(
    policy: Policy, basis: Basis, account: Account, grants: Iterable[Grant], at: datetime
) -> Decision:
    """Grant or refuse ``basis`` at ``at``, given the organization's earlier grants (at least
    those of this account, this subject and this epoch)."""
    points = policy.points_for(basis.reason)
    if points <= 0:
        return refuse(Refusal.NO_POINTS)
    if not account.is_customer:
        return refuse(Refusal.STAFF_ACCOUNT)
    if basis.actor_id is not None and basis.actor_id == basis.account_id:
        return refuse(Refusal.SELF_ACTION)
    live = [g for g in grants if g.live]
    if any(g.subject == basis.subject and g.reason is basis.reason for g in live):
        return refuse(Refusal.DUPLICATE)
    if at - account.created_at < timedelta(days=policy.account_min_age_days):
        return refuse(Refusal.ACCOUNT_TOO_YOUNG)
    if policy.verified_wallet and (
        account.wallet_verified_at is None or account.wallet_verified_at > at
    ):
        return refuse(Refusal.NO_VERIFIED_WALLET)
    rule = f"points.{basis.reason.value}"
    day = at.astimezone(UTC).date()
    today = sum(
        g.points
        for g in live
        if g.account_id == basis.account_id and g.granted_at.astimezone(UTC).date() == day
    )
    if today + points > policy.per_user_per_day:
        points = policy.per_user_per_day - today
        rule = RULE_OF[Refusal.DAILY_CAP]
        if points <= 0:
            return refuse(Refusal.DAILY_CAP)
    epoch = epoch_at(policy, at)
    spent = sum(g.points for g in live if epoch.start <= g.granted_at < epoch.end)
    if spent + points > policy.per_org_per_epoch:
        points = policy.per_org_per_epoch - spent
        rule = RULE_OF[Refusal.EPOCH_CAP]
        if points <= 0:
            return refuse(Refusal.EPOCH_CAP)
    return Decision(points=points, rule=rule, vests_at=at + timedelta(days=policy.holding_days))


def may_claw_back(grant: Grant, at: datetime) -> bool:
    """A grant is clawed back when its basis disappears within the holding period."""
    return grant.status is GrantStatus.PENDING and at < grant.vests_at


def due(grant: Grant, now: datetime) -> bool:
    """A pending grant whose holding period is over vests."""
    return grant.status is GrantStatus.PENDING and grant.vests_at <= now


@dataclass
class Book:
    """Grants in memory, through the same functions the stored grants go through."""

    policy: Policy
    accounts: dict[str, Account]
    grants: list[Grant] = field(default_factory=list)

    def appear(self, basis: Basis, at: datetime) -> Decision:
        self.vest(at)
        decision = decide(self.policy, basis, self.accounts[basis.account_id], self.grants, at)
        if decision.granted and decision.vests_at is not None:
            self.grants.append(
                Grant(
                    id=str(len(self.grants)),
                    reason=basis.reason,
                    subject=basis.subject,
                    account_id=basis.account_id,
                    points=decision.points,
                    granted_at=at,
                    vests_at=decision.vests_at,
                    status=GrantStatus.PENDING,
                    rule=decision.rule,
                )
            )
        return decision

    def disappear(self, reason: Reason, subject: str, at: datetime) -> list[Grant]:
        self.vest(at)
        clawed = []
        for i, grant in enumerate(self.grants):
            if grant.reason is reason and grant.subject == subject and may_claw_back(grant, at):
                self.grants[i] = replace(grant, status=GrantStatus.CLAWED_BACK)
                clawed.append(self.grants[i])
        return clawed

    def vest(self, now: datetime) -> None:
        for i, grant in enumerate(self.grants):
            if due(grant, now):
                self.grants[i] = replace(grant, status=GrantStatus.VESTED)

    def balances(self, status: GrantStatus) -> dict[str, int]:
        out: dict[str, int] = {}
        for grant in self.grants:
            if grant.status is status:
                out[grant.account_id] = out.get(grant.account_id, 0) + grant.points
        return out
