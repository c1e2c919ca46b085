"""Roles and what each may do. The access functions in ``proofdesk.access`` apply this table."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"  # reads everything in its organization, changes nothing
    #: Not a person: service contracts and automation rules acting on tickets. No user has
    #: this role; its events carry ``by`` naming the rule.
    AUTOMATION = "automation"


STAFF = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR})
#: Staff who may change tickets.
WORKERS = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.AUTOMATION})
#: Roles a user account can have.
PERSON_ROLES = frozenset(Role) - {Role.AUTOMATION}
#: Staff who may manage teams and see every agent.
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


class Scope(StrEnum):
    """Scopes of API tokens. A token never grants more than its owner's role allows."""

    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    ADMIN = "admin"
    #: The owner's own credentials: second factor, sessions, API tokens, linked wallet and
    #: e-mail. A browser session always has it; an API token only if it was made with it, so
    #: that a leaked read token cannot enrol its own second factor and lock the owner out.
    ACCOUNT = "account"


ALL_SCOPES = frozenset(Scope)


def public_name(display_name: str, agent_alias: str | None) -> str:
    """The name customers see on a staff member's replies: their alias, else their first
    name (the first word of the name they go by)."""
    if agent_alias:
        return agent_alias
    words = display_name.split()
    return words[0] if words else display_name
