"""The admin pages' overview (``/admin``, admins only): the organization's settings, staff and
teams, the knowledge base in both languages side by side, API tokens, and the log's verifier key
and latest checkpoint; and what the other admin pages share (:func:`admin`, :func:`attempt`).
Every change goes through the same actions as the API (``actions.accounts``, ``assistant.kb``),
so the same rules hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import desc, select

from proofdesk.access import access_team, require_admin
from proofdesk.actions import accounts, orders, payouts
from proofdesk.actions import contracts as contract_actions
from proofdesk.actions.kb import do_save_article
from proofdesk.actions.organization import do_rename_organization, do_set_agent_mfa
from proofdesk.actions.witnessing import open_alerts
from proofdesk.app.services import services_of
from proofdesk.assistant import kb
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.errors import Error, InvalidInput, NotFound
from proofdesk.store.models import (
    ApiToken,
    Organization,
    ServiceContract,
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

STAFF_ROLES = accounts.STAFF_ROLES


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
        contracts = _contracts(session, org_id)
        witness_alerts = [(w.url, w.alert_at, w.alert) for w in open_alerts(session)]
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
        "witness_alerts": witness_alerts,
        "contracts": [(c, contract_actions.load(c).kind) for c in contracts],
        "verifier_key": services.signer.verifier.encode(),
        "roles": [r.value for r in STAFF_ROLES],
        "scopes": sorted(s.value for s in ALL_SCOPES),
    }


def overview_page(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    new_token: str | None = None,
    new_webhook_secret: str | None = None,
) -> Response:
    return render(
        request,
        visitor,
        "admin.html",
        status=status,
        error=error,
        new_token=new_token,
        new_webhook_secret=new_webhook_secret,
        **_overview(request, visitor),
    )


def attempt(
    request: Request,
    visitor: Visitor,
    change: Any,
    then: Any = None,
    *,
    failed: Callable[[int, str], Response] | None = None,
) -> Response:
    """Run ``change(session)`` in one transaction; then ``then(its result)`` (default: back to
    the overview), or ``failed(status, error text)`` (default: the overview with the error;
    nothing changed)."""
    try:
        with services_of(request).db.writer() as session:
            result = change(session)
    except Error as exc:
        text = error_text(exc, locale_of(request, visitor))
        if failed is not None:
            return failed(exc.http_status, text)
        return overview_page(request, visitor, status=exc.http_status, error=text)
    return then(result) if then is not None else RedirectResponse("/admin", 303)


@router.get("/admin")
def overview(request: Request) -> Response:
    return overview_page(request, admin(request))


@router.post("/admin/organization/mfa")
def set_agent_mfa(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    require_for_agents: Annotated[str, Form()] = "",
) -> Response:

    return attempt(
        request,
        visitor,
        lambda session: do_set_agent_mfa(session, visitor.actor, require_for_agents == "on"),
    )


@router.post("/admin/organization/name")
def rename_organization(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    name: Annotated[str, Form()] = "",
) -> Response:
    return attempt(
        request, visitor, lambda session: do_rename_organization(session, visitor.actor, name)
    )


@router.post("/admin/organization/escrow")
def set_escrow(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    merchant_address: Annotated[str, Form()] = "",
) -> Response:
    return attempt(
        request,
        visitor,
        lambda session: payouts.do_set_merchant(session, visitor.actor, merchant_address.strip()),
    )


@router.post("/admin/organization/webhook-secret")
def new_webhook_secret(request: Request, visitor: Annotated[Visitor, posted_by(admin)]) -> Response:
    """A new secret for the shop's signed order webhooks, shown once; the old one stops."""
    keyring = services_of(request).db.keyring
    assert keyring is not None
    return attempt(
        request,
        visitor,
        lambda session: orders.do_new_webhook_secret(session, visitor.actor, keyring),
        lambda secret: overview_page(request, visitor, new_webhook_secret=secret),
    )


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

    return attempt(request, visitor, change)


def _staff_member(session: Any, visitor: Visitor, user_id: str) -> User:
    user: User | None = session.get(User, user_id)
    if (
        user is None
        or user.organization_id != visitor.actor.organization_id
        or user.role == Role.CUSTOMER.value
    ):
        raise NotFound("no such user")
    return user


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request,
    user_id: str,
    visitor: Annotated[Visitor, posted_by(admin)],
    active: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate a member of staff (their sessions and tokens stop; their open tickets go back
    to the queue) or reactivate them."""

    def change(session: Any) -> None:
        user = _staff_member(session, visitor, user_id)
        accounts.do_set_active(session, visitor.actor, user, active == "yes")

    return attempt(request, visitor, change)


@router.post("/admin/users/{user_id}/role")
def set_role(
    request: Request,
    user_id: str,
    visitor: Annotated[Visitor, posted_by(admin)],
    role: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Any) -> None:
        if role not in {r.value for r in STAFF_ROLES}:
            raise InvalidInput("choose a staff role", field="role")
        accounts.do_set_role(
            session, visitor.actor, _staff_member(session, visitor, user_id), Role(role)
        )

    return attempt(request, visitor, change)


@router.post("/admin/teams")
def add_team(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    name: Annotated[str, Form()] = "",
) -> Response:
    return attempt(
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
        team = access_team(session, visitor.actor, team_id)
        user = session.get(User, user_id) if user_id else None
        if user is None or user.organization_id != visitor.actor.organization_id:
            raise NotFound("no such user")
        accounts.do_add_team_member(session, visitor.actor, team, user)

    return attempt(request, visitor, change)


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
    return attempt(
        request, visitor, change, lambda token: overview_page(request, visitor, new_token=token)
    )


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    return attempt(
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
        request,
        visitor,
        "admin_kb.html",
        slug=slug,
        versions=found,
        error=None,
        status=200,
        estimate=services_of(request).assistant.estimate(visitor.actor.organization_id),
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
            do_save_article(session, visitor.actor, org_id, spec)
    except Error as exc:
        return render(
            request,
            visitor,
            "admin_kb.html",
            status=exc.http_status,
            slug=slug,
            versions={**existing, locale: spec},
            error=error_text(exc, locale_of(request, visitor)),
            estimate=services_of(request).assistant.estimate(org_id),
        )
    return RedirectResponse(f"/admin/kb/{slug}", 303)


def _contracts(session: Any, organization_id: str) -> list[ServiceContract]:
    return list(
        session.scalars(
            select(ServiceContract)
            .where(ServiceContract.organization_id == organization_id)
            .order_by(ServiceContract.name, ServiceContract.version.desc())
        )
    )
