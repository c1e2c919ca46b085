"""A person's profile: the fields staff change on a user, and a customer's own e-mail address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_worker
from proofdesk.actions.accounts import LOCALES, normalize_email
from proofdesk.domain.roles import Role
from proofdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from proofdesk.store.models import User


def do_update_profile(
    session: Session,
    actor: Actor,
    user: User,
    *,
    tier: str | None = None,
    display_name: str | None = None,
    locale: str | None = None,
    agent_alias: str | None = None,
) -> User:
    """Change what is given of a user already checked with ``access_user``; only agents and
    above set a customer's tier."""
    if tier is not None:
        require_worker(actor)
        user.tier = tier
    if display_name is not None:
        user.display_name = display_name.strip()
    if locale is not None:
        if locale not in LOCALES:
            raise InvalidInput(f"locale must be one of {LOCALES}", field="locale")
        user.locale = locale
    if agent_alias is not None:
        if Role(user.role) is Role.CUSTOMER:
            raise InvalidInput("only staff have an agent alias", field="agent_alias")
        alias = agent_alias.strip()
        if len(alias) > 80:
            raise InvalidInput("an alias has at most 80 characters", field="agent_alias")
        user.agent_alias = alias or None  # empty: back to the first name
    return user


def do_link_email(session: Session, actor: Actor, email: str) -> User:
    """A customer links an e-mail address to their own account (for replies by e-mail); no
    other account of the organization may hold it."""
    if actor.role is not Role.CUSTOMER:
        raise Forbidden("staff e-mail addresses are set by an admin", code="not_a_customer")
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("no such user")
    address = normalize_email(email)
    taken = session.scalars(
        select(User.id).where(
            User.organization_id == user.organization_id,
            User.email == address,
            User.id != user.id,
        )
    ).first()
    if taken is not None:
        raise Conflict("another account uses this e-mail", code="email_taken", field="email")
    user.email = address
    session.flush()
    return user
