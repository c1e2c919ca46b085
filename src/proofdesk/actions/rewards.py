"""Rewards: publishing a reward policy, granting and clawing back points, settling an epoch.

Every grant and clawback is an event of the earner's stream in the transparency log
(``reward.granted``, ``reward.clawed_back``: ids, reason, points and the rule, never content);
publishing a policy and closing or publishing an epoch are events of the organization's stream.
The decisions are :mod:`proofdesk.rewards.engine`'s, over the stored grants.

:func:`do_grant` and :func:`do_claw_back` are the interface every source of points calls with a
:class:`~proofdesk.rewards.engine.Basis`: today the desk's verified feedback
(:func:`do_reward_rating`, from ``actions.tickets.do_rate``); the community Q&A's accepted
answers, promoted answers and (damped, ``rewards.votes``) helpful votes call the same two.

A grant is ``pending`` until its ``vests_at`` and vested after it: vesting is a matter of time,
so no write is needed for it (:func:`effective_status`), and a clawback after ``vests_at`` is
refused by the engine.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from proofdesk.access import (
    Actor,
    access_reward_epoch,
    require_admin,
    require_manager,
    visible_reward_grants,
    visible_reward_leaves,
)
from proofdesk.canonical import canonical_json, format_time, stored_utc, utc_now
from proofdesk.chain import rewards as chain_rewards
from proofdesk.chain.base import Chain, ChainError
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import EventType, TicketState
from proofdesk.errors import Conflict, InvalidInput, NotFound
from proofdesk.rewards import engine, merkle
from proofdesk.rewards.engine import Account, Basis, Decision, GrantStatus
from proofdesk.rewards.policy import Policy, Reason, from_document, parse
from proofdesk.rewards.policy import default as default_policy
from proofdesk.store.db import Database
from proofdesk.store.events import EventAppender
from proofdesk.store.models import (
    Message,
    RewardEpoch,
    RewardGrant,
    RewardLeaf,
    RewardPolicy,
    User,
    Wallet,
)

HUMAN_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMIN.value)


# --- the policy -------------------------------------------------------------------------------


def active_policy(session: Session, organization_id: str) -> Policy:
    """The organization's active policy, or the default one until it publishes its own."""
    row = session.scalars(
        select(RewardPolicy).where(
            RewardPolicy.organization_id == organization_id, RewardPolicy.active
        )
    ).first()
    return default_policy() if row is None else from_document(json.loads(row.document))


def active_policy_hash(db: Database, organization_id: str) -> str:
    with db.reader() as session:
        return active_policy(session, organization_id).policy_hash


def do_publish_policy(
    session: Session, actor: Actor, source: str, *, at: datetime | None = None
) -> tuple[RewardPolicy, bool]:
    """Check a policy, store it and make it the active one by a ``reward.policy_published``
    event; grants made from then on are decided by it (earlier ones keep theirs). Publishing the
    active document again is a no-op; returns the row and whether anything changed."""
    require_admin(actor)
    policy = parse(source)
    moment = at or utc_now()
    row = session.scalars(
        select(RewardPolicy).where(
            RewardPolicy.organization_id == actor.organization_id,
            RewardPolicy.policy_hash == policy.policy_hash,
        )
    ).first()
    if row is not None and row.active:
        return row, False
    if row is None:
        clash = session.scalars(
            select(RewardPolicy.id).where(
                RewardPolicy.organization_id == actor.organization_id,
                RewardPolicy.name == policy.name,
                RewardPolicy.version == policy.version,
            )
        ).first()
        if clash is not None:
            raise Conflict(
                f"{policy.name} version {policy.version} is published with other content; "
                "publish it as a new version",
                code="version_exists",
            )
        row = RewardPolicy(
            organization_id=actor.organization_id,
            policy_hash=policy.policy_hash,
            name=policy.name,
            version=policy.version,
            document=canonical_json(policy.document).decode(),
            source=source,
            published_at=moment,
            published_by=actor.user_id,
            active=False,
        )
        session.add(row)
    session.execute(
        update(RewardPolicy)
        .where(RewardPolicy.organization_id == actor.organization_id, RewardPolicy.active)
        .values(active=False)
    )
    event = EventAppender(session).append_organization(
        organization_id=actor.organization_id,
        type=EventType.REWARD_POLICY_PUBLISHED,
        actor_id=actor.user_id,
        occurred_at=format_time(moment),
        payload={"policy_hash": policy.policy_hash, "name": policy.name, "version": policy.version},
    )
    row.active = True
    row.activated_seq = event.seq
    session.flush()
    return row, True


# --- grants -----------------------------------------------------------------------------------


def effective_status(row: RewardGrant, now: datetime) -> GrantStatus:
    status = GrantStatus(row.status)
    if status is GrantStatus.PENDING and stored_utc(row.vests_at) <= now:
        return GrantStatus.VESTED
    return status


def as_grant(row: RewardGrant, now: datetime) -> engine.Grant:
    return engine.Grant(
        id=row.id,
        reason=Reason(row.reason),
        subject=row.subject,
        account_id=row.account_id,
        points=row.points,
        granted_at=stored_utc(row.granted_at),
        vests_at=stored_utc(row.vests_at),
        status=effective_status(row, now),
        rule=row.rule,
    )


def account_facts(session: Session, user: User) -> Account:
    verified = session.scalars(
        select(Wallet.verified_at)
        .where(Wallet.user_id == user.id, Wallet.verified_at.is_not(None))
        .order_by(Wallet.verified_at)
        .limit(1)
    ).first()
    return Account(
        id=user.id,
        created_at=stored_utc(user.created_at),
        is_customer=user.role == Role.CUSTOMER.value,
        wallet_verified_at=None if verified is None else stored_utc(verified),
    )


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    grant: RewardGrant | None


def do_grant(
    session: Session, organization_id: str, basis: Basis, *, at: datetime | None = None
) -> Outcome:
    """Grant points for ``basis`` if the active policy allows it, as a ``reward.granted`` event
    of the earner's stream; a refusal writes nothing and says which rule refused. Must run in
    ``Database.writer()`` (the sequencer lock makes the cap and once-per-subject checks
    race-free)."""
    moment = at or utc_now()
    user = session.get(User, basis.account_id)
    if user is None or user.organization_id != organization_id:
        raise NotFound("no such account")
    policy = active_policy(session, organization_id)
    epoch = engine.epoch_at(policy, moment)
    rows = session.scalars(
        select(RewardGrant).where(
            RewardGrant.organization_id == organization_id,
            or_(
                RewardGrant.account_id == basis.account_id,
                RewardGrant.subject == basis.subject,
                RewardGrant.granted_at >= epoch.start,
            ),
        )
    ).all()
    grants = [as_grant(row, moment) for row in rows]
    decision = engine.decide(policy, basis, account_facts(session, user), grants, moment)
    if not decision.granted or decision.vests_at is None:
        return Outcome(decision, None)
    row = RewardGrant(
        organization_id=organization_id,
        account_id=basis.account_id,
        reason=basis.reason.value,
        subject=basis.subject,
        points=decision.points,
        rule=decision.rule,
        policy_hash=policy.policy_hash,
        basis_actor_id=basis.actor_id,
        status=GrantStatus.PENDING.value,
        granted_at=moment,
        vests_at=decision.vests_at,
        grant_seq=0,
    )
    session.add(row)
    session.flush()
    event = EventAppender(session).append_organization(
        organization_id=organization_id,
        type=EventType.REWARD_GRANTED,
        actor_id=basis.actor_id,
        occurred_at=format_time(moment),
        payload={
            "grant_id": row.id,
            "account_id": basis.account_id,
            "reason": basis.reason.value,
            "subject": basis.subject,
            "points": decision.points,
            "rule": decision.rule,
            "policy_hash": policy.policy_hash,
            "vests_at": format_time(decision.vests_at),
        },
        stream=basis.account_id,
    )
    row.grant_seq = event.seq
    return Outcome(decision, row)


def do_claw_back(
    session: Session,
    organization_id: str,
    reason: Reason,
    subject: str,
    *,
    why: str,
    actor_id: str | None = None,
    at: datetime | None = None,
) -> list[RewardGrant]:
    """The basis of (subject, reason) disappeared (unaccepted, hidden, rating withdrawn): claw
    back its pending grant, by a ``reward.clawed_back`` event; a vested grant stays."""
    moment = at or utc_now()
    rows = session.scalars(
        select(RewardGrant).where(
            RewardGrant.organization_id == organization_id,
            RewardGrant.subject == subject,
            RewardGrant.reason == reason.value,
            RewardGrant.status == GrantStatus.PENDING.value,
        )
    ).all()
    clawed = []
    for row in rows:
        if not engine.may_claw_back(as_grant(row, moment), moment):
            continue
        row.status = GrantStatus.CLAWED_BACK.value
        row.clawed_at = moment
        row.clawback_reason = why[:200]
        EventAppender(session).append_organization(
            organization_id=organization_id,
            type=EventType.REWARD_CLAWED_BACK,
            actor_id=actor_id,
            occurred_at=format_time(moment),
            payload={
                "grant_id": row.id,
                "account_id": row.account_id,
                "reason": row.reason,
                "subject": row.subject,
                "points": row.points,
                "why": row.clawback_reason,
            },
            stream=row.account_id,
        )
        clawed.append(row)
    return clawed


def ticket_subject(ticket_id: str) -> str:
    return f"ticket:{ticket_id}"


def do_reward_rating(
    session: Session, state: TicketState, comment: str | None, *, at: datetime | None = None
) -> Outcome | None:
    """Verified feedback: a rating with a comment of the policy's length on a ticket that had a
    public reply from a person. Rating again without such a comment withdraws it (clawed back
    within the holding period). Returns the outcome, or None when there was nothing to grant."""
    policy = active_policy(session, state.organization_id)
    repliers: set[str] = {
        author
        for author in session.scalars(
            select(Message.author_id).where(
                Message.ticket_id == state.id,
                Message.visibility == "public",
                Message.author_role.in_(HUMAN_ROLES),
                Message.author_id.is_not(None),
            )
        )
        if author is not None
    }
    subject = ticket_subject(state.id)
    refused = engine.check_feedback(policy, comment, human_reply=bool(repliers))
    if refused is not None:
        do_claw_back(
            session,
            state.organization_id,
            Reason.VERIFIED_FEEDBACK,
            subject,
            why="the rating no longer carries verified feedback",
            actor_id=state.requester_id,
            at=at,
        )
        return Outcome(engine.refuse(refused), None)
    others = sorted(repliers - {state.requester_id})
    actor = others[0] if others else state.requester_id
    basis = Basis(Reason.VERIFIED_FEEDBACK, subject, state.requester_id, actor)
    return do_grant(session, state.organization_id, basis, at=at)


# --- epochs -----------------------------------------------------------------------------------


def do_close_epoch(session: Session, actor: Actor, *, at: datetime | None = None) -> RewardEpoch:
    """Settle every vested, unsettled grant of accounts with a verified wallet into the next
    epoch: one leaf per account (``rewards.merkle``), amount = points × ``token_per_point``.
    Grants of accounts without a verified wallet wait for a later epoch. Logged as a
    ``reward.epoch_closed`` event carrying the root."""
    require_manager(actor)
    moment = at or utc_now()
    org = actor.organization_id
    policy = active_policy(session, org)
    last = session.scalars(
        select(RewardEpoch)
        .where(RewardEpoch.organization_id == org)
        .order_by(RewardEpoch.number.desc())
        .limit(1)
    ).first()
    if last is not None and stored_utc(last.closed_at) >= moment:
        raise InvalidInput("an epoch closes after the previous one", code="epoch_order")
    number = 0 if last is None else last.number + 1
    rows = session.scalars(
        select(RewardGrant).where(
            RewardGrant.organization_id == org,
            RewardGrant.status == GrantStatus.PENDING.value,
            RewardGrant.vests_at <= moment,
            RewardGrant.epoch.is_(None),
        )
    ).all()
    by_account: dict[str, list[RewardGrant]] = defaultdict(list)
    for row in rows:
        by_account[row.account_id].append(row)
    address_of: dict[str, str] = {}
    for account_id in by_account:
        address = session.scalars(
            select(Wallet.address)
            .where(Wallet.user_id == account_id, Wallet.verified_at.is_not(None))
            .order_by(Wallet.verified_at)
            .limit(1)
        ).first()
        if address is not None:
            address_of[account_id] = to_checksum_address(address)
    points = {a: sum(r.points for r in by_account[a]) for a in address_of}
    amounts = {address_of[a]: p * policy.token_per_point for a, p in points.items()}
    leaves = merkle.leaves(amounts)
    if not leaves:
        raise InvalidInput("no vested points to settle", code="nothing_vested")
    account_at = {address: a for a, address in address_of.items()}
    root = HexBytes(merkle.root(leaves)).to_0x_hex()
    total = sum(leaf.amount for leaf in leaves)
    event = EventAppender(session).append_organization(
        organization_id=org,
        type=EventType.REWARD_EPOCH_CLOSED,
        actor_id=actor.user_id,
        occurred_at=format_time(moment),
        payload={
            "number": number,
            "root": root,
            "total": str(total),
            "points": sum(points.values()),
            "leaves": len(leaves),
            "policy_hash": policy.policy_hash,
        },
    )
    epoch = RewardEpoch(
        organization_id=org,
        number=number,
        policy_hash=policy.policy_hash,
        closed_at=moment,
        root=root,
        total=str(total),
        points=sum(points.values()),
        close_seq=event.seq,
    )
    session.add(epoch)
    session.flush()
    for leaf in leaves:
        account_id = account_at[leaf.account]
        session.add(
            RewardLeaf(
                organization_id=org,
                epoch_id=epoch.id,
                leaf_index=leaf.index,
                account_id=account_id,
                address=leaf.account,
                amount=str(leaf.amount),
                points=points[account_id],
            )
        )
        for row in by_account[account_id]:
            row.epoch = number
    session.flush()
    return epoch


def epoch_leaves(session: Session, epoch: RewardEpoch) -> list[merkle.Leaf]:
    rows = session.scalars(
        select(RewardLeaf).where(RewardLeaf.epoch_id == epoch.id).order_by(RewardLeaf.leaf_index)
    ).all()
    return [merkle.Leaf(r.leaf_index, r.address, int(r.amount)) for r in rows]


def do_record_publication(
    session: Session,
    epoch: RewardEpoch,
    *,
    chain_id: int,
    distributor: str,
    chain_epoch: int,
    tx_hash: str,
    at: datetime | None = None,
) -> RewardEpoch:
    """The epoch's root was published on chain (``RewardDistributor.publish``): a
    ``reward.epoch_published`` event. Recording it again is a no-op."""
    if epoch.publish_tx is not None:
        return epoch
    moment = at or utc_now()
    EventAppender(session).append_organization(
        organization_id=epoch.organization_id,
        type=EventType.REWARD_EPOCH_PUBLISHED,
        actor_id=None,
        occurred_at=format_time(moment),
        payload={
            "number": epoch.number,
            "root": epoch.root,
            "chain_id": chain_id,
            "distributor": distributor,
            "chain_epoch": chain_epoch,
            "tx_hash": tx_hash,
        },
    )
    epoch.chain_id = chain_id
    epoch.distributor = distributor
    epoch.chain_epoch = chain_epoch
    epoch.publish_tx = tx_hash
    epoch.published_at = moment
    session.flush()
    return epoch


def do_publish_epoch(db: Database, chain: Chain, actor: Actor, number: int) -> RewardEpoch:
    """Publish a closed epoch's root through ``RewardDistributor`` (deployed and funded as
    needed, ``chain.rewards``), then record it. Safe to repeat: a published epoch is recorded
    once, and the chain steps are idempotent. Runs outside a transaction (it waits for the
    chain), taking the writer only to record."""
    require_admin(actor)
    with db.reader() as session:
        epoch = access_reward_epoch(session, actor.organization_id, number)
        if epoch.publish_tx is not None:
            return epoch
        root, total = epoch.root, int(epoch.total)
    where = chain_rewards.ensure_distributor(db, chain)
    chain_epoch, tx_hash = chain_rewards.publish_root(chain, where, root, total)
    with db.writer() as session:
        epoch = access_reward_epoch(session, actor.organization_id, number)
        return do_record_publication(
            session,
            epoch,
            chain_id=where.chain_id,
            distributor=where.distributor,
            chain_epoch=chain_epoch,
            tx_hash=tx_hash,
        )


# --- what a customer sees ---------------------------------------------------------------------

CLAIM_SELECTOR = keccak(b"claim(uint256,uint256,address,uint256,bytes32[])")[:4]


def claim_calldata(chain_epoch: int, leaf: merkle.Leaf, proof: list[bytes]) -> str:
    """The ``RewardDistributor.claim`` call a wallet sends (EIP-1193 ``eth_sendTransaction``)."""
    args = encode(
        ["uint256", "uint256", "address", "uint256", "bytes32[]"],
        [chain_epoch, leaf.index, leaf.account, leaf.amount, proof],
    )
    return "0x" + (CLAIM_SELECTOR + args).hex()


@dataclass(frozen=True)
class Claim:
    epoch: RewardEpoch
    leaf: merkle.Leaf
    points: int
    proof: list[bytes]
    claimed: bool | None  # None: the chain could not be read

    @property
    def calldata(self) -> str | None:
        if self.epoch.chain_epoch is None:
            return None
        return claim_calldata(self.epoch.chain_epoch, self.leaf, self.proof)


@dataclass(frozen=True)
class Points:
    pending: int
    vested: int  # vested, not claimed (settled or not)
    claimed: int
    grants: list[tuple[RewardGrant, GrantStatus]]
    claims: list[Claim]


def points_of(
    db: Database, actor: Actor, chain: Callable[[], Chain | None], *, now: datetime | None = None
) -> Points:
    """The actor's own points, with the proof of each settled epoch and whether it was claimed
    on chain (read from the distributor; ``chain`` is only opened when an epoch was published).
    Reads only."""
    moment = now or utc_now()
    with db.reader() as session:
        grants = [
            g
            for g in visible_reward_grants(session, actor, account_id=actor.user_id)
            if g.account_id == actor.user_id
        ]
        settled = visible_reward_leaves(session, actor)
        trees = {epoch.id: epoch_leaves(session, epoch) for _, epoch in settled}
    node = chain() if any(e.chain_epoch is not None for _, e in settled) else None
    claims = []
    for row, epoch in settled:
        leaf = merkle.Leaf(row.leaf_index, row.address, int(row.amount))
        claimed: bool | None = None
        if node is not None and epoch.distributor and epoch.chain_epoch is not None:
            try:
                claimed = chain_rewards.is_claimed(
                    node, epoch.distributor, epoch.chain_epoch, row.leaf_index
                )
            except ChainError:
                claimed = None
        proof = merkle.proof(trees[epoch.id], row.leaf_index)
        claims.append(Claim(epoch, leaf, row.points, proof, claimed))
    statuses = [(g, effective_status(g, moment)) for g in grants]
    vested = sum(g.points for g, s in statuses if s is GrantStatus.VESTED)
    claimed_points = sum(c.points for c in claims if c.claimed)
    return Points(
        pending=sum(g.points for g, s in statuses if s is GrantStatus.PENDING),
        vested=vested - claimed_points,
        claimed=claimed_points,
        grants=statuses,
        claims=claims,
    )
