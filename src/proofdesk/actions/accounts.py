"""Organizations, users (staff and customers), teams, wallets and orders."""

from __future__ import annotations

import re
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from proofdesk.access import (
    Actor,
    access_customer,
    require_admin,
    require_manager,
    require_worker,
)
from proofdesk.actions import tickets
from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.canonical import decimal_string, utc_now
from proofdesk.domain import identifiers
from proofdesk.domain.roles import WORKERS, Role, Scope
from proofdesk.domain.tickets import UNSOLVED
from proofdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from proofdesk.identity.credentials import hash_password
from proofdesk.store.models import (
    ApiToken,
    Order,
    Organization,
    Team,
    TeamMember,
    Ticket,
    User,
    Wallet,
)
from proofdesk.store.models import Session as BrowserSession

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
LOCALES = ("en", "zh-CN")


def normalize_email(email: str) -> str:
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid e-mail address: {exc}", field="email") from None


def do_create_organization(session: Session, slug: str, name: str) -> Organization:
    if not _SLUG.match(slug):
        raise InvalidInput("slug must be 2-63 lower-case letters, digits or '-'", field="slug")
    if session.scalars(select(Organization).where(Organization.slug == slug)).first():
        raise Conflict(f"organization {slug!r} exists", code="organization_exists")
    org = Organization(slug=slug, name=name.strip() or slug, created_at=utc_now())
    session.add(org)
    session.flush()
    return org


def do_create_user(
    session: Session,
    organization_id: str,
    *,
    role: Role,
    display_name: str,
    email: str | None,
    password: str | None = None,
    locale: str = "en",
    tier: str | None = None,
) -> User:
    """Create a user; the caller has checked that the actor may create this role."""
    if role is Role.AUTOMATION:
        raise InvalidInput("no account can have the automation role", field="role")
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {LOCALES}", field="locale")
    normalized = normalize_email(email) if email else None
    if normalized is None and role is not Role.CUSTOMER:
        raise InvalidInput("staff accounts need an e-mail", field="email")
    if (
        normalized
        and session.scalars(
            select(User).where(User.organization_id == organization_id, User.email == normalized)
        ).first()
    ):
        raise Conflict("a user with this e-mail exists", code="email_taken", field="email")
    name = display_name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("display name must be 1-200 characters", field="display_name")
    user = User(
        organization_id=organization_id,
        role=role.value,
        email=normalized,
        display_name=name,
        locale=locale,
        password_hash=hash_password(password) if password else None,
        tier=tier,
        created_at=utc_now(),
    )
    session.add(user)
    session.flush()
    return user


def check_may_create_role(actor: Actor, role: Role) -> None:
    """Staff create customers; only admins create staff accounts."""
    if role is Role.CUSTOMER:
        require_worker(actor)
    else:
        require_admin(actor)


def do_set_active(session: Session, actor: Actor, user: User, active: bool) -> User:
    """Deactivate (or reactivate) an account: its sessions and tokens stop working at their
    next request. A deactivated agent's unsolved tickets go back to their team's queue
    (unassigned, one ``assignment.changed`` event each), so none waits on someone who is gone."""
    require_admin(actor)
    if user.id == actor.user_id and not active:
        raise InvalidInput("you cannot deactivate yourself", field="is_active")
    if user.is_active and not active:
        _release_tickets(session, actor, user)
    user.is_active = active
    return user


#: The roles an admin may give a member of staff.
STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


def do_set_role(session: Session, actor: Actor, user: User, role: Role) -> User:
    """Give a member of staff another staff role. Their browser sessions end (they sign in
    again, and enrol a second factor if the new role needs one); their API tokens keep only
    what the new role allows (``auth.actor_from_api_token``). Someone who no longer handles
    tickets (an auditor) gives theirs back to the queue and leaves their teams. Nobody changes
    their own role, so an organization always keeps the admin who acts."""
    require_admin(actor)
    if role not in STAFF_ROLES or user.role == Role.CUSTOMER.value:
        raise InvalidInput("staff roles are agent, supervisor, auditor and admin", field="role")
    if user.id == actor.user_id:
        raise InvalidInput("you cannot change your own role", field="role")
    if user.role == role.value:
        return user
    if role not in WORKERS:
        _release_tickets(session, actor, user)
        session.execute(delete(TeamMember).where(TeamMember.user_id == user.id))
    session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
    user.role = role.value
    return user


def _release_tickets(session: Session, actor: Actor, user: User) -> None:
    """Unassign ``user``'s unsolved tickets (they stay with their team)."""
    if Role(user.role) not in WORKERS:
        return
    held = session.scalars(
        select(Ticket).where(
            Ticket.organization_id == user.organization_id,
            Ticket.assignee_id == user.id,
            Ticket.status.in_([s.value for s in UNSOLVED]),
        )
    ).all()
    for ticket in held:
        tickets.do_assign(session, actor, ticket, assignee_id=None, team_id=ticket.team_id)


def do_create_team(session: Session, actor: Actor, name: str) -> Team:
    require_manager(actor)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("team name must be 1-100 characters", field="name")
    if session.scalars(
        select(Team).where(Team.organization_id == actor.organization_id, Team.name == name)
    ).first():
        raise Conflict("a team with this name exists", code="team_exists")
    team = Team(organization_id=actor.organization_id, name=name, created_at=utc_now())
    session.add(team)
    session.flush()
    return team


def do_add_team_member(session: Session, actor: Actor, team: Team, user: User) -> None:
    require_manager(actor)
    if user.organization_id != team.organization_id or Role(user.role) not in WORKERS:
        raise InvalidInput("only agents can join a team", field="user_id")
    if session.get(TeamMember, (team.id, user.id)) is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))


def do_remove_team_member(session: Session, actor: Actor, team: Team, user_id: str) -> None:
    require_manager(actor)
    member = session.get(TeamMember, (team.id, user_id))
    if member is None:
        raise NotFound("not a member of this team", user_id=user_id)
    session.delete(member)


def do_link_wallet(
    session: Session, actor: Actor, customer: User, address: str, label: str | None
) -> Wallet:
    """Link an address to a customer. Staff may record one a customer told them; a customer
    proving their own wallet by signature arrives with Sign-In with Ethereum."""
    require_worker(actor)
    access_customer(actor, customer)
    return do_attach_wallet(session, customer, address, label)


def do_attach_wallet(
    session: Session, customer: User, address: str, label: str | None, *, proven: bool = False
) -> Wallet:
    """Link ``address`` to ``customer`` (idempotent); the caller has checked the right to.
    ``proven``: the customer signed with it (Sign-In with Ethereum), which makes it a wallet
    that payouts may be sent to; a wallet staff typed in is not."""
    normalized = identifiers.evm_address(address)
    existing = session.scalars(
        select(Wallet).where(
            Wallet.organization_id == customer.organization_id, Wallet.address == normalized
        )
    ).first()
    if existing is not None:
        if existing.user_id == customer.id:
            if proven and existing.verified_at is None:
                existing.verified_at = utc_now()
            return existing
        raise Conflict("this wallet is linked to another customer", code="wallet_taken")
    wallet = Wallet(
        organization_id=customer.organization_id,
        user_id=customer.id,
        address=normalized,
        label=label,
        created_at=utc_now(),
        verified_at=utc_now() if proven else None,
    )
    session.add(wallet)
    session.flush()
    return wallet


def do_record_order(
    session: Session,
    actor: Actor,
    customer: User,
    *,
    external_id: str,
    amount: str,
    currency: str,
    status: str,
    description: str | None,
    created_at: datetime | None = None,
) -> Order:
    require_worker(actor)
    access_customer(actor, customer)
    external_id = identifiers.order_id(external_id)
    if session.scalars(
        select(Order).where(
            Order.organization_id == customer.organization_id, Order.external_id == external_id
        )
    ).first():
        raise Conflict("an order with this id exists", code="order_exists")
    if not re.fullmatch(r"[A-Za-z0-9]{1,16}", currency):
        raise InvalidInput("currency must be 1-16 letters or digits", field="currency")
    order = Order(
        organization_id=customer.organization_id,
        customer_id=customer.id,
        external_id=external_id,
        amount=decimal_string(amount),
        currency=currency.upper(),
        status=status,
        description=description,
        created_at=created_at or utc_now(),
    )
    session.add(order)
    session.flush()
    return order


def do_create_api_token(
    session: Session, actor: Actor, name: str, scopes: frozenset[Scope], expires_at: datetime | None
) -> tuple[ApiToken, str]:
    """A token never grants more than the actor's own credential holds."""
    if not scopes <= actor.scopes:
        raise Forbidden("a token cannot have scopes the caller lacks", code="missing_scope")
    if Scope.ADMIN in scopes and actor.role is not Role.ADMIN:
        raise Forbidden("only admins can issue admin tokens")
    if not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("token name must be 1-100 characters", field="name")
    if expires_at is not None and expires_at <= utc_now():
        raise InvalidInput("expiry must be in the future", field="expires_at")
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("no such user")
    return do_issue_api_token(session, user, name.strip(), scopes, expires_at)


def do_revoke_api_token(session: Session, actor: Actor, token_id: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound("no such token", token_id=token_id)
    if row.revoked_at is None:
        row.revoked_at = utc_now()
