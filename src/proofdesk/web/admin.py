"""The admin pages (``/admin``, admins only): the organization's settings, staff and teams, the
knowledge base in both languages side by side, API tokens, SLA policies, and the log's verifier
key and latest checkpoint. Every change goes through the same actions as the API
(``actions.accounts``, ``assistant.kb``), so the same rules hold."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import desc, select

from proofdesk.access import require_admin
from proofdesk.actions import accounts
from proofdesk.api.deps import services_of
from proofdesk.assistant import kb
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.errors import Error, InvalidInput, NotFound
from proofdesk.store.models import (
    ApiToken,
    Organization,
    SignedCheckpoint,
    SlaPolicy,
    Team,
    TeamMember,
    User,
)
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    error_text,
    locale_of,
    posted_by,
    reading,
    render,
    staff,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


def admin(request: Request) -> Visitor:
    visitor = staff(request)
    require_admin(visitor.actor)
    return visitor


def _overview(request: Request, visitor: Visitor) -> dict[str, Any]:
    services = services_of(request)
    org_id = visitor.actor.organization_id
    with reading(request) as session:
        org = session.get(Organization, org_id)
        assert org is not None
        people = session.scalars(
            select(User)
            .where(User.organization_id == org_id, User.role != Role.CUSTOMER.value)
            .order_by(User.role, User.display_name)
        ).all()
        teams = session.scalars(
            select(Team).where(Team.organization_id == org_id).order_by(Team.name)
        ).all()
        members: dict[str, list[str]] = {t.id: [] for t in teams}
        names = {p.id: p.display_name for p in people}
        for team_id, user_id in session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(
                TeamMember.team_id.in_(list(members))
            )
        ):
            members[team_id].append(names.get(user_id, user_id))
        policies = session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.organization_id == org_id)
            .order_by(SlaPolicy.position)
        ).all()
        articles: dict[str, dict[str, str]] = {}
        for row in kb.articles(session, org_id):
            articles.setdefault(row.slug, {})[row.locale] = row.title
        tokens = session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == visitor.actor.user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at)
        ).all()
        checkpoint = session.scalars(
            select(SignedCheckpoint).order_by(desc(SignedCheckpoint.size)).limit(1)
        ).first()
        session.expunge_all()
    return {
        "org": org,
        "people": people,
        "teams": teams,
        "members": members,
        "policies": policies,
        "articles": articles,
        "tokens": tokens,
        "checkpoint": checkpoint,
        "verifier_key": services.signer.verifier.encode(),
        "roles": [r.value for r in STAFF_ROLES],
        "scopes": sorted(s.value for s in ALL_SCOPES),
    }


def _page(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    new_token: str | None = None,
) -> Response:
    return render(
        request,
        visitor,
        "admin.html",
        status=status,
        error=error,
        new_token=new_token,
        **_overview(request, visitor),
    )


def _attempt(request: Request, visitor: Visitor, change: Any, then: Any = None) -> Response:
    """Run ``change(session)`` in one transaction; then ``then(its result)`` (default: back to
    the overview), or the overview with the error (nothing changed)."""
    try:
        with services_of(request).db.writer() as session:
            result = change(session)
    except Error as exc:
        return _page(
            request,
            visitor,
            status=exc.http_status,
            error=error_text(exc, locale_of(request, visitor)),
        )
    return then(result) if then is not None else RedirectResponse("/admin", 303)


@router.get("/admin")
def overview(request: Request) -> Response:
    return _page(request, admin(request))


@router.post("/admin/organization/mfa")
def set_agent_mfa(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    require_for_agents: Annotated[str, Form()] = "",
) -> Response:

    def change(session: Any) -> None:
        org = session.get(Organization, visitor.actor.organization_id)
        org.require_mfa_for_agents = require_for_agents == "on"

    return _attempt(request, visitor, change)


@router.post("/admin/users")
def add_person(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    role: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:

    def change(session: Any) -> None:
        if role not in {r.value for r in STAFF_ROLES}:
            raise InvalidInput("choose a staff role", field="role")
        accounts.check_may_create_role(visitor.actor, Role(role))
        accounts.do_create_user(
            session,
            visitor.actor.organization_id,
            role=Role(role),
            display_name=display_name.strip(),
            email=email,
            password=password or None,
        )

    return _attempt(request, visitor, change)


@router.post("/admin/teams")
def add_team(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    name: Annotated[str, Form()] = "",
) -> Response:
    return _attempt(
        request, visitor, lambda session: accounts.do_create_team(session, visitor.actor, name)
    )


@router.post("/admin/teams/{team_id}/members")
def add_member(
    request: Request,
    team_id: str,
    visitor: Annotated[Visitor, posted_by(admin)],
    user_id: Annotated[str, Form()] = "",
) -> Response:

    def change(session: Any) -> None:
        team = accounts.access_team(session, visitor.actor, team_id)
        user = session.get(User, user_id) if user_id else None
        if user is None or user.organization_id != visitor.actor.organization_id:
            raise NotFound("no such user")
        accounts.do_add_team_member(session, visitor.actor, team, user)

    return _attempt(request, visitor, change)


@router.post("/admin/tokens")
def add_token(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = set(scopes or [])

    def change(session: Any) -> str:
        if not chosen or not chosen <= {s.value for s in Scope}:
            raise InvalidInput("choose at least one scope", field="scopes")
        _, token = accounts.do_create_api_token(
            session, visitor.actor, name, frozenset(Scope(s) for s in chosen), None
        )
        return token

    # Shown once: the token is not stored, only its hash.
    return _attempt(
        request, visitor, change, lambda token: _page(request, visitor, new_token=token)
    )


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: accounts.do_revoke_api_token(session, visitor.actor, token_id),
    )


@router.get("/admin/kb/{slug}")
def article(request: Request, slug: str) -> Response:
    """One knowledge-base entry, Chinese and English side by side."""
    visitor = admin(request)
    with reading(request) as session:
        found = {
            row.locale: kb.to_spec(row)
            for row in kb.articles(session, visitor.actor.organization_id)
            if row.slug == slug
        }
    if not found:
        raise NotFound("no such article")
    return render(
        request, visitor, "admin_kb.html", slug=slug, versions=found, error=None, status=200
    )


@router.post("/admin/kb/{slug}/{locale}")
def save_article(
    request: Request,
    slug: str,
    locale: str,
    visitor: Annotated[Visitor, posted_by(admin)],
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "",
    audience: Annotated[str, Form()] = "public",
) -> Response:
    org_id = visitor.actor.organization_id
    with reading(request) as session:
        existing = {
            row.locale: kb.to_spec(row) for row in kb.articles(session, org_id) if row.slug == slug
        }
    if not existing:
        raise NotFound("no such article")
    base = existing.get(locale) or next(iter(existing.values()))
    spec = replace(
        base,
        locale=locale,
        title=title.strip(),
        body=body.strip(),
        intent=intent.strip() or base.intent,
        audience=audience,
        questions=[q.strip() for q in questions.splitlines() if q.strip()],
    )
    try:
        with services_of(request).db.writer() as session:
            kb.save(session, visitor.actor, org_id, spec)
    except Error as exc:
        return render(
            request,
            visitor,
            "admin_kb.html",
            status=exc.http_status,
            slug=slug,
            versions={**existing, locale: spec},
            error=error_text(exc, locale_of(request, visitor)),
        )
    return RedirectResponse(f"/admin/kb/{slug}", 303)
