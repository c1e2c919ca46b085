"""The reward policy: a small published document, identified by the SHA-256 of its canonical
form (RFC 8785 JSON of the parsed document), like a service contract (``rules.document``).

A policy says how many points each reason gives and every limit against farming; anyone can
fetch it by its hash and recompute what an account earned. It is written in YAML or JSON::

    kind: RewardPolicy
    name: default
    version: 1
    points: {verified_feedback: 10, accepted_answer: 25}
    feedback_min_chars: 40
    holding_days: 7
    caps: {per_user_per_day: 50, per_org_per_epoch: 5000}
    requirements: {account_min_age_days: 3, verified_wallet: true}
    votes: {pair_once_per_days: 30, voter_min_age_days: 7}
    epoch: {days: 7, unclaimed: keep}
    token_per_point: "1000000000000000000"
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from proofdesk.canonical import canonical_json
from proofdesk.errors import InvalidInput

MAX_POLICY_BYTES = 20_000
MAX_POINTS = 1_000_000


class Reason(StrEnum):
    """Why points are given. Community reasons are granted by the Q&A through the same
    ``actions.rewards.do_grant`` once it exists; today the desk grants verified feedback and
    confirmed bug reports."""

    VERIFIED_FEEDBACK = "verified_feedback"  # a rating with a comment, after a human reply
    BUG_CONFIRMED = "bug_confirmed"  # a report staff confirmed as a bug
    ACCEPTED_ANSWER = "accepted_answer"
    ANSWER_PROMOTED = "answer_promoted"  # an answer promoted to a knowledge-base article
    HELPFUL_VOTE = "helpful_vote"  # a helpful vote received (after damping: ``votes``)


class Unclaimed(StrEnum):
    KEEP = "keep"  # an epoch's root stays claimable
    ROLL_OVER = "roll_over"  # an expired epoch's unclaimed amounts join the next epoch


class PolicyError(InvalidInput):
    code = "invalid_reward_policy"


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    points: dict[Reason, int]
    feedback_min_chars: int
    holding_days: int
    per_user_per_day: int
    per_org_per_epoch: int
    account_min_age_days: int
    verified_wallet: bool
    pair_once_per_days: int
    voter_min_age_days: int
    epoch_days: int
    unclaimed: Unclaimed
    token_per_point: int
    document: dict[str, Any]

    @property
    def policy_hash(self) -> str:
        return policy_hash(self.document)

    def points_for(self, reason: Reason) -> int:
        return self.points.get(reason, 0)


def policy_hash(document: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the document's RFC 8785 form: formatting does not change it."""
    return "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()


_KEYS = {
    "kind",
    "name",
    "version",
    "points",
    "feedback_min_chars",
    "holding_days",
    "caps",
    "requirements",
    "votes",
    "epoch",
    "token_per_point",
}
_SECTIONS = {
    "caps": {"per_user_per_day", "per_org_per_epoch"},
    "requirements": {"account_min_age_days", "verified_wallet"},
    "votes": {"pair_once_per_days", "voter_min_age_days"},
    "epoch": {"days", "unclaimed"},
}


def _int(value: Any, field: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise PolicyError(f"{field} is an integer from {low} to {high}", field=field)
    return value


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    section = document.get(name)
    if not isinstance(section, dict):
        raise PolicyError(f"{name} is a mapping", field=name)
    unknown = set(section) - _SECTIONS[name]
    missing = _SECTIONS[name] - set(section)
    if unknown or missing:
        field = f"{name}.{sorted(unknown or missing)[0]}"
        raise PolicyError(f"{field} is {'unknown' if unknown else 'missing'}", field=field)
    return section


def parse(text: str) -> Policy:
    """A checked policy from its YAML or JSON text, or a :class:`PolicyError` naming the field."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError(f"a policy has at most {MAX_POLICY_BYTES} bytes", field="source")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"not YAML: {exc}", field="source") from None
    if not isinstance(document, dict):
        raise PolicyError("a policy is a mapping", field="source")
    return from_document(json.loads(json.dumps(document, default=str)))


def from_document(document: dict[str, Any]) -> Policy:
    unknown = set(document) - _KEYS
    if unknown:
        raise PolicyError(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    missing = _KEYS - set(document)
    if missing:
        raise PolicyError(f"missing field {sorted(missing)[0]}", field=sorted(missing)[0])
    if document["kind"] != "RewardPolicy":
        raise PolicyError("kind is RewardPolicy", field="kind")
    name = document["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise PolicyError("name is a text of 1 to 64 characters", field="name")
    points_doc = document["points"]
    if not isinstance(points_doc, dict) or not points_doc:
        raise PolicyError("points maps reasons to points", field="points")
    points: dict[Reason, int] = {}
    for key, value in points_doc.items():
        try:
            reason = Reason(key)
        except ValueError:
            raise PolicyError(f"unknown reason {key}", field=f"points.{key}") from None
        points[reason] = _int(value, f"points.{key}", 0, MAX_POINTS)
    caps = _section(document, "caps")
    requirements = _section(document, "requirements")
    votes = _section(document, "votes")
    epoch = _section(document, "epoch")
    if type(requirements["verified_wallet"]) is not bool:
        raise PolicyError("verified_wallet is true or false", field="requirements.verified_wallet")
    try:
        unclaimed = Unclaimed(epoch["unclaimed"])
    except ValueError:
        raise PolicyError("unclaimed is keep or roll_over", field="epoch.unclaimed") from None
    per_token = document["token_per_point"]
    if not isinstance(per_token, str) or not per_token.isdigit() or len(per_token) > 40:
        raise PolicyError("token_per_point is a decimal text", field="token_per_point")
    return Policy(
        name=name,
        version=_int(document["version"], "version", 1, 1_000_000),
        points=points,
        feedback_min_chars=_int(document["feedback_min_chars"], "feedback_min_chars", 0, 2000),
        holding_days=_int(document["holding_days"], "holding_days", 0, 365),
        per_user_per_day=_int(caps["per_user_per_day"], "caps.per_user_per_day", 0, 10**9),
        per_org_per_epoch=_int(caps["per_org_per_epoch"], "caps.per_org_per_epoch", 0, 10**12),
        account_min_age_days=_int(
            requirements["account_min_age_days"], "requirements.account_min_age_days", 0, 3650
        ),
        verified_wallet=requirements["verified_wallet"],
        pair_once_per_days=_int(votes["pair_once_per_days"], "votes.pair_once_per_days", 0, 3650),
        voter_min_age_days=_int(votes["voter_min_age_days"], "votes.voter_min_age_days", 0, 3650),
        epoch_days=_int(epoch["days"], "epoch.days", 1, 366),
        unclaimed=unclaimed,
        token_per_point=int(per_token),
        document=document,
    )


#: The policy an organization has until it publishes its own.
DEFAULT_SOURCE = """\
kind: RewardPolicy
name: default
version: 1
points:
  verified_feedback: 10
  bug_confirmed: 40
  accepted_answer: 25
  answer_promoted: 50
  helpful_vote: 2
feedback_min_chars: 40
holding_days: 7
caps:
  per_user_per_day: 50
  per_org_per_epoch: 5000
requirements:
  account_min_age_days: 3
  verified_wallet: true
votes:
  pair_once_per_days: 30
  voter_min_age_days: 7
epoch:
  days: 7
  unclaimed: keep
token_per_point: "1000000000000000000"
"""


def default() -> Policy:
    return parse(DEFAULT_SOURCE)
