"""Rewards over HTTP: the published policy and the epochs' roots (public, so anyone can check
the rules and the trees), a customer's points and claims (with the proof a wallet sends to
``RewardDistributor.claim``), staff's rewards ledger, and admins publishing a policy and
settling and publishing epochs."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from proofdesk.access import (
    access_reward_epoch,
    require_staff,
    visible_reward_grants,
)
from proofdesk.actions import rewards as actions
from proofdesk.api.deps import AdminScoped, ServicesDep, TicketsReader
from proofdesk.api.params import path_int
from proofdesk.api.schemas.rewards import (
    EpochOut,
    GrantOut,
    PointsOut,
    PolicyIn,
    PolicyOut,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.canonical import utc_now
from proofdesk.errors import NotFound
from proofdesk.store.models import Organization, RewardEpoch, RewardPolicy

router = APIRouter(tags=["rewards"])

Slug = Query(min_length=1, max_length=64, description="The organization's slug.")


def _organization_id(services: ServicesDep, slug: str) -> str:
    with services.db.reader() as session:
        org = session.scalars(select(Organization.id).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound("no such organization", code="no_such_organization")
    return org


@router.post(
    "/rewards/policies",
    status_code=201,
    response_model=PolicyOut,
    summary="Publish a reward policy and make it the active one",
    responses={200: {"description": "This document is the active policy already"}},
)
def publish_policy(
    body: PolicyIn, response: Response, services: ServicesDep, actor: AdminScoped
) -> PolicyOut:
    with services.db.writer() as session:
        row, new = actions.do_publish_policy(session, actor, body.source)
        if not new:
            response.status_code = 200
        return PolicyOut.of(row)


@router.get(
    "/rewards/policy",
    response_model=PolicyOut,
    dependencies=[per_address(Kind.PUBLIC)],
    summary="An organization's active reward policy (public: the rules are the promise)",
)
def active_policy(services: ServicesDep, organization: str = Slug) -> PolicyOut:
    org_id = _organization_id(services, organization)
    with services.db.reader() as session:
        row = session.scalars(
            select(RewardPolicy).where(RewardPolicy.organization_id == org_id, RewardPolicy.active)
        ).first()
        if row is None:
            return PolicyOut.default(actions.active_policy(session, org_id))
        return PolicyOut.of(row)


@router.get(
    "/rewards/epochs",
    response_model=list[EpochOut],
    dependencies=[per_address(Kind.PUBLIC)],
    summary="An organization's settled epochs and their Merkle roots (public)",
)
def list_epochs(services: ServicesDep, organization: str = Slug) -> list[EpochOut]:
    org_id = _organization_id(services, organization)
    with services.db.reader() as session:
        rows = session.scalars(
            select(RewardEpoch)
            .where(RewardEpoch.organization_id == org_id)
            .order_by(RewardEpoch.number.desc())
            .limit(200)
        ).all()
        return [EpochOut.of(r) for r in rows]


@router.get(
    "/rewards/points",
    response_model=PointsOut,
    summary="The caller's points: pending, vested and claimed, with the rule that gave each, "
    "and the proof (and the wallet's call) of each settled epoch to claim with",
)
def points(services: ServicesDep, actor: TicketsReader) -> PointsOut:
    return PointsOut.of(actions.points_of(services.db, actor, services.chain_or_none))


@router.get(
    "/rewards/ledger",
    response_model=list[GrantOut],
    summary="Staff: every grant and clawback of the organization, newest first",
)
def ledger(
    services: ServicesDep, actor: TicketsReader, account_id: str | None = Query(None, max_length=64)
) -> list[GrantOut]:
    now = utc_now()
    with services.db.reader() as session:
        require_staff(actor)  # customers read their own at /rewards/points
        rows = visible_reward_grants(session, actor, account_id=account_id)
        return [GrantOut.of(r, actions.effective_status(r, now).value) for r in rows]


@router.post(
    "/rewards/epochs",
    status_code=201,
    response_model=EpochOut,
    summary="Settle every vested, unsettled grant into the next epoch's Merkle tree",
)
def close_epoch(services: ServicesDep, actor: AdminScoped) -> EpochOut:
    with services.db.writer() as session:
        return EpochOut.of(actions.do_close_epoch(session, actor))


@router.post(
    "/rewards/epochs/{number}/publish",
    response_model=EpochOut,
    summary="Publish an epoch's root through RewardDistributor (deployed and funded as needed)",
)
def publish_epoch(
    services: ServicesDep, actor: AdminScoped, number: int = path_int(le=2**31 - 1)
) -> EpochOut:
    with services.db.reader() as session:
        access_reward_epoch(session, actor.organization_id, number)
    return EpochOut.of(actions.do_publish_epoch(services.db, services.chain(), actor, number))
