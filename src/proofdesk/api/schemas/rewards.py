"""The request and response bodies of ``api/routes/rewards.py``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.actions.rewards import Claim, Points
from proofdesk.api.schemas.common import Request, UtcTime
from proofdesk.rewards.policy import Policy
from proofdesk.store.models import RewardEpoch, RewardGrant, RewardPolicy


class PolicyIn(Request):
    source: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] = Field(
        description="The reward policy's YAML or JSON document (docs/rewards.md)."
    )


class PolicyOut(BaseModel):
    policy_hash: str = Field(description="sha256 of the document's RFC 8785 form.")
    name: str
    version: int
    active: bool
    published: bool = Field(description="False for the default policy, never published.")
    published_at: UtcTime | None
    activated_seq: int | None = Field(
        default=None, description="The log entry of its activation (`reward.policy_published`)."
    )
    document: dict[str, Any]

    @classmethod
    def of(cls, row: RewardPolicy) -> PolicyOut:
        return cls(
            policy_hash=row.policy_hash,
            name=row.name,
            version=row.version,
            active=row.active,
            published=True,
            published_at=row.published_at,
            activated_seq=row.activated_seq,
            document=json.loads(row.document),
        )

    @classmethod
    def default(cls, policy: Policy) -> PolicyOut:
        return cls(
            policy_hash=policy.policy_hash,
            name=policy.name,
            version=policy.version,
            active=True,
            published=False,
            published_at=None,
            document=policy.document,
        )


class GrantOut(BaseModel):
    id: str
    account_id: str
    reason: str
    subject: str
    points: int
    rule: str = Field(description="The policy field that gave (or limited) the points.")
    status: str = Field(description="pending, vested or clawed_back.")
    granted_at: UtcTime
    vests_at: UtcTime
    clawed_at: UtcTime | None
    clawback_reason: str | None
    epoch: int | None = Field(description="The epoch it was settled in.")
    policy_hash: str
    grant_seq: int = Field(description="Its `reward.granted` log entry.")

    @classmethod
    def of(cls, row: RewardGrant, status: str) -> GrantOut:
        return cls(
            id=row.id,
            account_id=row.account_id,
            reason=row.reason,
            subject=row.subject,
            points=row.points,
            rule=row.rule,
            status=status,
            granted_at=row.granted_at,
            vests_at=row.vests_at,
            clawed_at=row.clawed_at,
            clawback_reason=row.clawback_reason,
            epoch=row.epoch,
            policy_hash=row.policy_hash,
            grant_seq=row.grant_seq,
        )


class ClaimOut(BaseModel):
    """What `RewardDistributor.claim(chain_epoch, index, account, amount, proof)` takes."""

    epoch: int = Field(description="The organization's epoch number.")
    chain_epoch: int | None = Field(description="Its number in the distributor, once published.")
    index: int
    account: str
    amount: str = Field(description="Token base units, as decimal text.")
    points: int
    proof: list[str]
    root: str
    published: bool
    chain_id: int | None
    distributor: str | None
    claimed: bool | None = Field(description="On chain; null when the chain cannot be read.")
    calldata: str | None = Field(
        description="The claim call's data, to send to `distributor` (once published)."
    )

    @classmethod
    def of(cls, claim: Claim) -> ClaimOut:
        epoch = claim.epoch
        return cls(
            epoch=epoch.number,
            chain_epoch=epoch.chain_epoch,
            index=claim.leaf.index,
            account=claim.leaf.account,
            amount=str(claim.leaf.amount),
            points=claim.points,
            proof=["0x" + p.hex() for p in claim.proof],
            root=epoch.root,
            published=epoch.publish_tx is not None,
            chain_id=epoch.chain_id,
            distributor=epoch.distributor,
            claimed=claim.claimed,
            calldata=claim.calldata,
        )


class PointsOut(BaseModel):
    pending: int = Field(description="Granted, still in the holding period.")
    vested: int = Field(description="Vested and not claimed yet (settled or not).")
    claimed: int
    grants: list[GrantOut]
    claims: list[ClaimOut]

    @classmethod
    def of(cls, points: Points) -> PointsOut:
        return cls(
            pending=points.pending,
            vested=points.vested,
            claimed=points.claimed,
            grants=[GrantOut.of(g, s.value) for g, s in points.grants],
            claims=[ClaimOut.of(c) for c in points.claims],
        )


class EpochOut(BaseModel):
    number: int
    root: str
    total: str
    points: int
    policy_hash: str
    closed_at: UtcTime
    close_seq: int
    chain_id: int | None
    distributor: str | None
    chain_epoch: int | None
    publish_tx: str | None
    published_at: UtcTime | None

    @classmethod
    def of(cls, row: RewardEpoch) -> EpochOut:
        return cls(
            number=row.number,
            root=row.root,
            total=row.total,
            points=row.points,
            policy_hash=row.policy_hash,
            closed_at=row.closed_at,
            close_seq=row.close_seq,
            chain_id=row.chain_id,
            distributor=row.distributor,
            chain_epoch=row.chain_epoch,
            publish_tx=row.publish_tx,
            published_at=row.published_at,
        )
