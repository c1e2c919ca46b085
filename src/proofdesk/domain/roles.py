"""Roles and what each may do. The access functions in ``proofdesk.access`` apply this table."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"  # reads everything in its organization, changes nothing


STAFF = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR})
#: Staff who may change tickets.
WORKERS = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
#: Staff who may manage teams and see every agent.
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


class Scope(StrEnum):
    """Scopes of API tokens. A token never grants more than its owner's role allows."""

    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)
