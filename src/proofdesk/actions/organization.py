"""An organization's own settings, changed by its admins from the API or the admin page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_admin
from proofdesk.errors import InvalidInput, NotFound
from proofdesk.store.models import Organization

#: How long an organization's display name may be (after spaces are collapsed).
MAX_NAME = 200


def _own(session: Session, actor: Actor) -> Organization:
    require_admin(actor)
    org = session.get(Organization, actor.organization_id)
    if org is None:
        raise NotFound("no such organization")
    return org


def do_set_agent_mfa(session: Session, actor: Actor, required: bool) -> None:
    """Require a second factor of agents too (admins and supervisors always need one)."""
    _own(session, actor).require_mfa_for_agents = required


def do_rename_organization(session: Session, actor: Actor, name: str) -> str:
    """Set the name shown to customers and staff; returns it as stored."""
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= MAX_NAME:
        raise InvalidInput(f"the name is 1-{MAX_NAME} characters", field="name")
    _own(session, actor).name = cleaned
    return cleaned
