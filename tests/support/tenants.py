"""Tenants to test with: one organization with a user of every role, their tokens, and a
ticket opened through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from proofdesk.access import Actor
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.store.db import Database
from proofdesk.store.models import Team, TeamMember, User


@dataclass
class Member:
    user_id: str
    role: Role
    token: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenant:
    """One organization with one user of every role, two customers and a team."""

    org_id: str
    slug: str
    team_id: str
    members: dict[str, Member] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Member:
        try:
            return self.members[name]
        except KeyError:
            raise AttributeError(name) from None


def make_tenant(db: Database, *, password: str | None = None) -> Tenant:
    slug = f"t{uuid.uuid4().hex[:10]}"
    with db.writer() as session:
        org = do_create_organization(session, slug, f"Tenant {slug}")
        team = Team(organization_id=org.id, name="Tier 1", created_at=org.created_at)
        session.add(team)
        session.flush()
        tenant = Tenant(org_id=org.id, slug=slug, team_id=team.id)
        people = [
            ("admin", Role.ADMIN),
            ("supervisor", Role.SUPERVISOR),
            ("agent", Role.AGENT),
            ("agent2", Role.AGENT),
            ("auditor", Role.AUDITOR),
            ("customer", Role.CUSTOMER),
            ("customer2", Role.CUSTOMER),
        ]
        for name, role in people:
            email = f"{name}@{slug}.example"
            user: User = do_create_user(
                session,
                org.id,
                role=role,
                display_name=name,
                email=email,
                password=password if name == "agent" else None,
            )
            _, token = do_issue_api_token(
                session,
                user,
                "test",
                ALL_SCOPES if role is Role.ADMIN else ALL_SCOPES - {Scope.ADMIN},
            )
            tenant.members[name] = Member(user.id, role, token, email)
        for name in ("agent", "agent2", "supervisor"):
            session.add(TeamMember(team_id=team.id, user_id=tenant.members[name].user_id))
    return tenant


def actor_of(member: Member, tenant: Tenant) -> Actor:
    return Actor(member.user_id, tenant.org_id, member.role)


def new_ticket(client: TestClient, member: Member, **fields: object) -> dict[str, object]:
    """Open a ticket through the API; staff open it for ``requester_id`` (default: customer)."""
    body: dict[str, object] = {
        "kind": "question",
        "subject": "Withdrawal pending",
        "body": "My USDT withdrawal has been pending for 3 hours.",
    }
    body.update(fields)
    response = client.post("/api/v1/tickets", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result
