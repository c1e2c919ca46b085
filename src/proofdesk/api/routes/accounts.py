"""Users (customers and staff), wallets, orders, teams, and the organization."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from proofdesk.access import (
    access_team,
    access_user,
    require_admin,
    require_scope,
    require_staff,
    require_worker,
    visible_users,
)
from proofdesk.actions import accounts as actions
from proofdesk.actions.organization import do_set_agent_mfa
from proofdesk.actions.profile import do_update_profile
from proofdesk.api.deps import (
    ActorDep,
    AdminScoped,
    CustomersReader,
    CustomersWriter,
    ServicesDep,
    TicketsReader,
    TicketsWriter,
)
from proofdesk.api.idempotency import idempotent_create
from proofdesk.api.pagination import decode_cursor, encode_cursor
from proofdesk.api.params import query_int
from proofdesk.api.schemas.accounts import (
    CustomerProfileOut,
    MfaPolicyIn,
    OrderIn,
    TeamIn,
    TeamOut,
    UserIn,
    UserPatch,
    WalletIn,
)
from proofdesk.api.schemas.common import OrderOut, Page, UserOut, WalletOut
from proofdesk.domain.roles import Role, Scope
from proofdesk.store.models import Order, Organization, Team, TeamMember, User, Wallet

router = APIRouter(tags=["accounts"])


def _profile(session: Session, user: User) -> CustomerProfileOut:
    wallets = session.scalars(
        select(Wallet).where(Wallet.user_id == user.id).order_by(Wallet.created_at)
    ).all()
    orders = session.scalars(
        select(Order).where(Order.customer_id == user.id).order_by(Order.created_at.desc())
    ).all()
    return CustomerProfileOut(
        **UserOut.of(user).model_dump(),
        wallets=[WalletOut.of(w) for w in wallets],
        orders=[OrderOut.of(o) for o in orders],
    )


@router.get("/organization", summary="The caller's organization")
def organization(services: ServicesDep, actor: ActorDep) -> dict[str, str]:
    with services.db.reader() as session:
        org = session.get(Organization, actor.organization_id)
        assert org is not None
        return {"id": org.id, "slug": org.slug, "name": org.name}


@router.put(
    "/organization/mfa",
    summary="Require a second factor for agents too (admins and supervisors always need one)",
)
def set_mfa_policy(body: MfaPolicyIn, services: ServicesDep, actor: AdminScoped) -> dict[str, bool]:
    require_admin(actor)
    with services.db.writer() as session:
        do_set_agent_mfa(session, actor, body.require_for_agents)
    return {"require_for_agents": body.require_for_agents}


@router.get("/users", response_model=Page[UserOut], summary="List users (staff)")
def list_users(
    services: ServicesDep,
    actor: CustomersReader,
    role: Annotated[list[Role] | None, Query()] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, query_int(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[UserOut]:
    require_staff(actor)
    query = visible_users(actor)
    if role:
        query = query.where(User.role.in_([r.value for r in role]))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        wallet_match = select(Wallet.user_id).where(Wallet.address.ilike(pattern, escape="\\"))
        query = query.where(
            or_(
                User.email.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
                User.id.in_(wallet_match),
            )
        )
    if cursor:
        _, last_id = decode_cursor(cursor, "id", int)
        query = query.where(User.id > last_id)
    with services.db.reader() as session:
        rows = session.scalars(query.order_by(User.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[UserOut](
        items=[UserOut.of(u) for u in rows],
        next_cursor=encode_cursor("id", 0, rows[-1].id) if more else None,
    )


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    summary="Create a customer (staff) or a staff account (admin)",
)
def create_user(
    body: UserIn, request: Request, services: ServicesDep, actor: ActorDep
) -> JSONResponse:
    require_scope(actor, Scope.CUSTOMERS_WRITE if body.role is Role.CUSTOMER else Scope.ADMIN)
    actions.check_may_create_role(actor, body.role)

    def create(session: Session) -> UserOut:
        user = actions.do_create_user(
            session,
            actor.organization_id,
            role=body.role,
            display_name=body.display_name,
            email=body.email,
            password=body.password,
            locale=body.locale,
            tier=body.tier,
        )
        return UserOut.of(user)

    return idempotent_create(request, services.db, actor, body, create)


@router.get(
    "/users/{user_id}",
    response_model=CustomerProfileOut,
    summary="A user with linked wallets and orders",
)
def get_user(user_id: str, services: ServicesDep, actor: CustomersReader) -> CustomerProfileOut:
    with services.db.reader() as session:
        return _profile(session, access_user(session, actor, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
def patch_user(
    user_id: str, body: UserPatch, services: ServicesDep, actor: CustomersWriter
) -> UserOut:
    with services.db.writer() as session:
        user = access_user(session, actor, user_id)
        if user.id != actor.user_id:
            if Role(user.role) is Role.CUSTOMER:
                require_worker(actor)
            else:
                require_admin(actor)
        if body.is_active is not None:
            actions.do_set_active(session, actor, user, body.is_active)
        if body.role is not None:
            actions.do_set_role(session, actor, user, Role(body.role))
        do_update_profile(
            session,
            actor,
            user,
            tier=body.tier,
            display_name=body.display_name,
            locale=body.locale,
            agent_alias=body.agent_alias,
        )
        return UserOut.of(user)


@router.post(
    "/users/{user_id}/wallets",
    status_code=201,
    response_model=WalletOut,
    summary="Link a wallet address to a customer",
)
def link_wallet(
    user_id: str, body: WalletIn, services: ServicesDep, actor: CustomersWriter
) -> WalletOut:
    with services.db.writer() as session:
        user = access_user(session, actor, user_id)
        return WalletOut.of(actions.do_link_wallet(session, actor, user, body.address, body.label))


@router.post(
    "/users/{user_id}/orders",
    status_code=201,
    response_model=OrderOut,
    summary="Record an order of a customer",
)
def record_order(
    user_id: str, body: OrderIn, request: Request, services: ServicesDep, actor: CustomersWriter
) -> JSONResponse:
    def create(session: Session) -> OrderOut:
        user = access_user(session, actor, user_id)
        order = actions.do_record_order(
            session,
            actor,
            user,
            external_id=body.external_id,
            amount=body.amount,
            currency=body.currency,
            status=body.status,
            description=body.description,
        )
        return OrderOut.of(order)

    return idempotent_create(request, services.db, actor, body, create, fingerprint_extra=user_id)


@router.get("/teams", response_model=list[TeamOut], summary="Teams (queues) and their members")
def list_teams(services: ServicesDep, actor: TicketsReader) -> list[TeamOut]:
    require_staff(actor)
    with services.db.reader() as session:
        teams = session.scalars(
            select(Team).where(Team.organization_id == actor.organization_id).order_by(Team.name)
        ).all()
        members = session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(
                TeamMember.team_id.in_([t.id for t in teams])
            )
        ).all()
    by_team: dict[str, list[str]] = {}
    for team_id, member in members:
        by_team.setdefault(team_id, []).append(member)
    return [TeamOut.of(t, by_team.get(t.id, [])) for t in teams]


@router.post("/teams", status_code=201, response_model=TeamOut, summary="Create a team")
def create_team(
    body: TeamIn,
    request: Request,
    services: ServicesDep,
    actor: TicketsWriter,  # teams are the queues tickets are routed to
) -> JSONResponse:
    def create(session: Session) -> TeamOut:
        return TeamOut.of(actions.do_create_team(session, actor, body.name), [])

    return idempotent_create(request, services.db, actor, body, create)


@router.put(
    "/teams/{team_id}/members/{user_id}", response_model=TeamOut, summary="Add an agent to a team"
)
def add_member(team_id: str, user_id: str, services: ServicesDep, actor: TicketsWriter) -> TeamOut:
    with services.db.writer() as session:
        team = access_team(session, actor, team_id)
        actions.do_add_team_member(session, actor, team, access_user(session, actor, user_id))
        session.flush()
        ids = session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)).all()
        return TeamOut.of(team, list(ids))


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    response_model=TeamOut,
    summary="Remove an agent from a team",
)
def remove_member(
    team_id: str, user_id: str, services: ServicesDep, actor: TicketsWriter
) -> TeamOut:
    with services.db.writer() as session:
        team = access_team(session, actor, team_id)
        actions.do_remove_team_member(session, actor, team, user_id)
        session.flush()
        ids = session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)).all()
        return TeamOut.of(team, list(ids))
