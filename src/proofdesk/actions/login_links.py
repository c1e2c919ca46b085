"""Sign-in links: a customer asks for one with their e-mail address and gets it by e-mail; the
link works once, for ``login_link_ttl_seconds``. Only its SHA-256 is stored. Staff never sign
in this way (they have a password and a second factor)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from proofdesk.actions.accounts import normalize_email
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.errors import InvalidInput, Unauthenticated
from proofdesk.identity.credentials import new_token, token_hash
from proofdesk.store.models import LoginLink, Organization, User

#: Links a customer may hold unused at once: more requests send nothing (no mail-bombing).
MAX_PENDING = 3


def do_issue_login_link(
    session: Session, organization_slug: str, email: str, ttl_seconds: int
) -> tuple[User, str] | None:
    """A new link's token for the active customer with this address, or None — for an unknown
    organization or address, a member of staff, or too many unused links — so that the page
    says the same whatever the case (addresses are not revealed)."""
    try:
        address = normalize_email(email)
    except InvalidInput:  # an address that is not one has no account either
        return None
    user = session.scalars(
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(
            Organization.slug == organization_slug.strip(),
            User.email == address,
            User.role == Role.CUSTOMER.value,
            User.is_active,
        )
    ).first()
    if user is None:
        return None
    now = utc_now()
    session.execute(delete(LoginLink).where(LoginLink.expires_at < now - timedelta(days=1)))
    pending = session.scalar(
        select(func.count())
        .select_from(LoginLink)
        .where(
            LoginLink.user_id == user.id, LoginLink.used_at.is_(None), LoginLink.expires_at > now
        )
    )
    if (pending or 0) >= MAX_PENDING:
        return None
    token = new_token()
    session.add(
        LoginLink(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    session.flush()
    return user, token


def do_consume_login_link(session: Session, token: str) -> User:
    """The link's customer; the link is used up atomically (of two requests, one wins)."""
    now = utc_now()
    user_id = session.execute(
        update(LoginLink)
        .where(
            LoginLink.token_hash == token_hash(token),
            LoginLink.used_at.is_(None),
            LoginLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(LoginLink.user_id)
    ).scalar_one_or_none()
    if user_id is None:
        raise Unauthenticated(
            "this sign-in link was used or has expired; ask for a new one", code="link_invalid"
        )
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("this account is disabled", code="account_disabled")
    return user
