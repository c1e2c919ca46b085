"""Damping helpful votes before they become points (the policy's ``votes`` section).

Votes arrive with the community Q&A; these pure functions are what it will call. A vote counts
when it is not a self-vote, its voter's account is at least ``voter_min_age_days`` old, and no
other vote between the same two accounts (either direction) was counted within
``pair_once_per_days`` — so two accounts voting for each other all day count once per period,
and a ring of fresh accounts counts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from proofdesk.rewards.engine import Basis
from proofdesk.rewards.policy import Policy, Reason


@dataclass(frozen=True)
class Vote:
    voter_id: str
    author_id: str  # whose post received the vote
    post_id: str
    at: datetime


def counted(policy: Policy, votes: Iterable[Vote], created_at: dict[str, datetime]) -> list[Vote]:
    """The votes that count, in time order."""
    period = timedelta(days=policy.pair_once_per_days)
    young = timedelta(days=policy.voter_min_age_days)
    last: dict[frozenset[str], datetime] = {}
    seen: set[tuple[str, str]] = set()
    out = []
    for vote in sorted(votes, key=lambda v: (v.at, v.voter_id, v.post_id)):
        if vote.voter_id == vote.author_id:
            continue
        if (vote.voter_id, vote.post_id) in seen:
            continue  # one vote per voter and post
        born = created_at.get(vote.voter_id)
        if born is None or vote.at - born < young:
            continue
        pair = frozenset((vote.voter_id, vote.author_id))
        previous = last.get(pair)
        if previous is not None and vote.at - previous < period:
            continue
        last[pair] = vote.at
        seen.add((vote.voter_id, vote.post_id))
        out.append(vote)
    return out


def basis(vote: Vote) -> Basis:
    """A counted vote's basis: one per (voter, post), earned by the post's author."""
    return Basis(
        reason=Reason.HELPFUL_VOTE,
        subject=f"vote:{vote.post_id}:{vote.voter_id}",
        account_id=vote.author_id,
        actor_id=vote.voter_id,
    )
