"""The admin pages (``/admin``, admins only): the organization's settings, staff and teams, the
knowledge base in both languages side by side, API tokens, SLA policies, and the log's verifier
key and latest checkpoint. Every change goes through the same actions as the API
(``actions.accounts``, ``actions.kb``), so the same rules hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import desc, select

from proofdesk import jsonlimits
from proofdesk.access import (
    access_contract,
    access_sla_policy,
    access_team,
    access_ticket,
    require_admin,
)
from proofdesk.actions import accounts, orders, payouts
from proofdesk.actions import contracts as contract_actions
from proofdesk.actions import sla as sla_actions
from proofdesk.actions.kb import do_save_article
from proofdesk.api.deps import services_of
from proofdesk.api.routes.sla import policy_values
from proofdesk.api.schemas import SlaPolicyIn
from proofdesk.assistant import kb
from proofdesk.domain.identifiers import row_id
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.domain.tickets import Kind, Priority
from proofdesk.errors import Error, InvalidInput, NotFound
from proofdesk.rules.document import Contract, parse
from proofdesk.store.models import (
    ApiToken,
    Organization,
    ServiceContract,
    SignedCheckpoint,
    SlaPolicy,
    Team,
    TeamMember,
    Ticket,
    User,
)
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    error_text,
    integer_field,
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
        "contracts": [(c, contract_actions.load(c).kind) for c in contracts],
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


@router.post("/admin/organization/name")
def rename_organization(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    name: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Any) -> None:
        cleaned = " ".join(name.split())
        if not 1 <= len(cleaned) <= 200:
            raise InvalidInput("the name is 1-200 characters", field="name")
        org = session.get(Organization, visitor.actor.organization_id)
        org.name = cleaned

    return _attempt(request, visitor, change)


@router.post("/admin/organization/escrow")
def set_escrow(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    merchant_address: Annotated[str, Form()] = "",
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: payouts.do_set_merchant(session, visitor.actor, merchant_address.strip()),
    )


@router.post("/admin/organization/webhook-secret")
def new_webhook_secret(request: Request, visitor: Annotated[Visitor, posted_by(admin)]) -> Response:
    """A new secret for the shop's signed order webhooks, shown once; the old one stops."""
    keyring = services_of(request).db.keyring
    assert keyring is not None
    return _attempt(
        request,
        visitor,
        lambda session: orders.do_new_webhook_secret(session, visitor.actor, keyring),
        lambda secret: _page(request, visitor, new_webhook_secret=secret),
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

    return _attempt(request, visitor, change)


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

    return _attempt(request, visitor, change)


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
        team = access_team(session, visitor.actor, team_id)
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
        )
    return RedirectResponse(f"/admin/kb/{slug}", 303)


# --- SLA policies and their business calendars --------------------------------------------------

MINUTE_FIELDS = (
    "first_response_minutes",
    "next_response_minutes",
    "periodic_update_minutes",
    "resolution_minutes",
)


@dataclass
class Day:
    """One weekday of the calendar form: open or not, and up to two windows (split shifts)."""

    open: bool = False
    start: str = ""
    end: str = ""
    start2: str = ""
    end2: str = ""


@dataclass
class PolicyForm:
    """The SLA policy form as the admin sees it: filled from a stored policy, or from what was
    posted (kept on an error, so nothing typed is lost). ``values`` checks it with the API's
    own schema and gives what ``actions.sla`` stores."""

    name: str = ""
    position: str = "100"
    kinds: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    tiers: str = ""
    minutes: dict[str, str] = field(default_factory=dict)
    warn_before_minutes: str = "30"
    escalate_to: str = ""
    business_hours: bool = False
    timezone: str = "UTC"
    days: list[Day] = field(default_factory=lambda: [Day() for _ in range(7)])
    country: str = ""
    subdivision: str = ""
    closed_days: str = ""
    #: The stored calendar has more than two windows on some day (saving here keeps two).
    more_windows: bool = False

    @classmethod
    def of(cls, policy: dict[str, Any]) -> PolicyForm:
        form = cls(
            name=policy["name"],
            position=str(policy["position"]),
            kinds=list(policy["kinds"] or []),
            priorities=list(policy["priorities"] or []),
            tiers=", ".join(policy["tiers"] or []),
            minutes={n: "" if policy[n] is None else str(policy[n]) for n in MINUTE_FIELDS},
            warn_before_minutes=str(policy["warn_before_minutes"]),
            escalate_to=policy["escalate_to"] or "",
        )
        calendar = policy["calendar"]
        if calendar is not None:
            form.business_hours = True
            form.timezone = calendar.get("timezone") or "UTC"
            form.country = calendar.get("country") or ""
            form.subdivision = calendar.get("subdivision") or ""
            form.closed_days = "\n".join(calendar.get("closed_days") or [])
            for block in sorted(calendar.get("hours") or [], key=lambda b: b["start"]):
                for number in block["days"]:
                    day = form.days[number]
                    if not day.open:
                        day.open, day.start, day.end = True, block["start"], block["end"]
                    elif not day.start2:
                        day.start2, day.end2 = block["start"], block["end"]
                    else:  # set with the API; the form shows two windows a day
                        form.more_windows = True
        return form

    def values(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name.strip(),
            "position": integer_field(self.position, "position"),
            "kinds": self.kinds or None,
            "priorities": self.priorities or None,
            "tiers": [t.strip() for t in self.tiers.split(",") if t.strip()] or None,
            "warn_before_minutes": integer_field(self.warn_before_minutes, "warn_before_minutes"),
            "escalate_to": self.escalate_to or None,
            "calendar": self._calendar(),
        }
        for name in MINUTE_FIELDS:
            data[name] = integer_field(self.minutes.get(name, ""), name)
        if data["position"] is None:
            del data["position"]
        if data["warn_before_minutes"] is None:
            del data["warn_before_minutes"]
        try:
            return policy_values(SlaPolicyIn.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "policy"
            raise InvalidInput(f"{where}: {first.get('msg', '')}", field=where) from None

    def _calendar(self) -> dict[str, Any] | None:
        if not self.business_hours:
            return None
        windows: dict[tuple[str, str], list[int]] = {}
        for number, day in enumerate(self.days):
            if not day.open:
                continue
            for start, end in ((day.start, day.end), (day.start2, day.end2)):
                if start or end:
                    windows.setdefault((start, end), []).append(number)
        if not windows:
            raise InvalidInput("business hours need at least one open day", field="calendar")
        return {
            "timezone": self.timezone.strip() or "UTC",
            "hours": [{"days": d, "start": s, "end": e} for (s, e), d in windows.items()],
            "country": self.country.strip().upper() or None,
            "subdivision": self.subdivision.strip() or None,
            "closed_days": self.closed_days.split(),
        }


def _policy_page(
    request: Request,
    visitor: Visitor,
    form: PolicyForm,
    policy_id: int | None,
    *,
    status: int = 200,
    error: str | None = None,
    saved: bool = False,
) -> Response:
    return render(
        request,
        visitor,
        "admin_sla.html",
        status=status,
        error=error,
        saved=saved,
        form=form,
        policy_id=policy_id,
        kinds=[k.value for k in Kind],
        priorities=[p.value for p in Priority],
        minute_fields=MINUTE_FIELDS,
    )


@router.get("/admin/sla/new")
def new_policy_page(request: Request) -> Response:
    return _policy_page(request, admin(request), PolicyForm(), None)


@router.get("/admin/sla/{policy_id}")
def policy_page(request: Request, policy_id: str, saved: str = "") -> Response:
    visitor = admin(request)
    with reading(request) as session:
        row = access_sla_policy(session, visitor.actor, policy_id)
        form = PolicyForm.of(sla_actions.as_dict(row))
        return _policy_page(request, visitor, form, row.id, saved=saved == "1")


def _days(
    open_days: list[str] | None,
    starts: list[str] | None,
    ends: list[str] | None,
    starts2: list[str] | None,
    ends2: list[str] | None,
) -> list[Day]:
    """The seven weekday rows of the form (each list is in weekday order)."""

    def at(values: list[str] | None, i: int) -> str:
        return values[i].strip() if values is not None and i < len(values) else ""

    opened = set(open_days or [])
    return [
        Day(str(i) in opened, at(starts, i), at(ends, i), at(starts2, i), at(ends2, i))
        for i in range(7)
    ]


@router.post("/admin/sla/{policy_id}")
def save_policy(
    request: Request,
    policy_id: str,
    visitor: Annotated[Visitor, posted_by(admin)],
    name: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
    kinds: Annotated[list[str] | None, Form()] = None,
    priorities: Annotated[list[str] | None, Form()] = None,
    tiers: Annotated[str, Form()] = "",
    first_response_minutes: Annotated[str, Form()] = "",
    next_response_minutes: Annotated[str, Form()] = "",
    periodic_update_minutes: Annotated[str, Form()] = "",
    resolution_minutes: Annotated[str, Form()] = "",
    warn_before_minutes: Annotated[str, Form()] = "",
    escalate_to: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "always",
    timezone: Annotated[str, Form()] = "UTC",
    open_days: Annotated[list[str] | None, Form()] = None,
    start: Annotated[list[str] | None, Form()] = None,
    end: Annotated[list[str] | None, Form()] = None,
    start2: Annotated[list[str] | None, Form()] = None,
    end2: Annotated[list[str] | None, Form()] = None,
    country: Annotated[str, Form()] = "",
    subdivision: Annotated[str, Form()] = "",
    closed_days: Annotated[str, Form()] = "",
) -> Response:
    """Create (``/admin/sla/new``) or change a policy; the open tickets' timers are recomputed
    in the same transaction (``actions.sla``)."""
    form = PolicyForm(
        name=name,
        position=position,
        kinds=list(kinds or []),
        priorities=list(priorities or []),
        tiers=tiers,
        minutes={
            "first_response_minutes": first_response_minutes,
            "next_response_minutes": next_response_minutes,
            "periodic_update_minutes": periodic_update_minutes,
            "resolution_minutes": resolution_minutes,
        },
        warn_before_minutes=warn_before_minutes,
        escalate_to=escalate_to,
        business_hours=hours == "business",
        timezone=timezone,
        days=_days(open_days, start, end, start2, end2),
        country=country,
        subdivision=subdivision,
        closed_days=closed_days,
    )
    existing = None if policy_id == "new" else row_id(policy_id)
    if policy_id != "new" and existing is None:
        raise NotFound("no such policy")
    try:
        values = form.values()
        with services_of(request).db.writer() as session:
            if existing is None:
                row = sla_actions.do_create_policy(session, visitor.actor, values)
            else:
                row = sla_actions.do_update_policy(session, visitor.actor, policy_id, values)
            saved = row.id
    except NotFound:
        raise
    except Error as exc:
        return _policy_page(
            request,
            visitor,
            form,
            existing,
            status=exc.http_status,
            error=error_text(exc, locale_of(request, visitor)),
        )
    return RedirectResponse(f"/admin/sla/{saved}?saved=1", 303)


@router.post("/admin/sla/{policy_id}/delete")
def delete_policy(
    request: Request, policy_id: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: sla_actions.do_delete_policy(session, visitor.actor, policy_id),
    )


# --- service contracts: the editor, its checks and the dry run -----------------------------------

#: What a new contract starts from: a complete small document to edit.
STARTER = """apiVersion: proofdesk/v1
kind: ServiceContract
metadata:
  name: my-refunds
  version: 1
  title:
    en: Refunds of failed orders
    zh-CN: 失败订单退款
spec:
  appliesTo: [refund_request]
  facts:
    order.status: string
    claim.reason: string
  rules:
    - id: failed
      when: order.status == "failed"
      decision: valid
      reason:
        en: The order failed.
        zh-CN: 订单失败。
  otherwise:
    decision: needs_human
    reason:
      en: A person decides.
      zh-CN: 由人工决定。
"""


def _contracts(session: Any, organization_id: str) -> list[ServiceContract]:
    return list(
        session.scalars(
            select(ServiceContract)
            .where(ServiceContract.organization_id == organization_id)
            .order_by(ServiceContract.name, ServiceContract.version.desc())
        )
    )


def _editor(
    request: Request,
    visitor: Visitor,
    source: str,
    *,
    status: int = 200,
    error: Error | None = None,
    checked: Contract | None = None,
    run: contract_actions.DryRun | None = None,
    ticket: str = "",
    facts: str = "{}",
    published: ServiceContract | None = None,
) -> Response:
    line = error.details.get("line") if error is not None else None
    return render(
        request,
        visitor,
        "admin_contract.html",
        status=status,
        source=source,
        error=None if error is None else error_text(error, locale_of(request, visitor)),
        error_line=line,
        checked=checked,
        run=run,
        ticket=ticket,
        facts=facts,
        published=published,
    )


@router.get("/admin/contracts/new")
def new_contract(request: Request) -> Response:
    return _editor(request, admin(request), STARTER)


@router.get("/admin/contracts/{contract_hash}")
def contract_page(request: Request, contract_hash: str) -> Response:
    """A published version: its source in the editor (edit it into a new version), whether it
    is active, and the button that activates it."""
    visitor = admin(request)
    with reading(request) as session:
        row = access_contract(session, visitor.actor.organization_id, contract_hash)
        session.expunge(row)
    return _editor(request, visitor, row.source, checked=contract_actions.load(row), published=row)


@router.post("/admin/contracts/check")
def check_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "{}",
) -> Response:
    """Validate only: the schema, the expressions, the facts and templates it names."""
    return _in_editor(
        request,
        visitor,
        (source, ticket, facts),
        lambda: _editor(
            request, visitor, source, checked=parse(source), ticket=ticket, facts=facts
        ),
    )


def _in_editor(
    request: Request,
    visitor: Visitor,
    typed: tuple[str, str, str],
    work: Callable[[], Response],
) -> Response:
    """``work()``, or the editor again with what was typed (source, ticket, facts) and the
    error — nothing changed."""
    source, ticket, facts = typed
    try:
        return work()
    except Error as exc:  # a ticket not found too: the source typed is kept
        return _editor(
            request, visitor, source, status=exc.http_status, error=exc, ticket=ticket, facts=facts
        )


def _ticket_by_reference(session: Any, visitor: Visitor, reference: str) -> Ticket:
    """A ticket the admin may see, by its number (``1042`` or ``#1042``) or its id."""
    text = reference.strip().removeprefix("#")
    number = row_id(text)
    if number is not None:
        found = session.scalars(
            select(Ticket.id).where(
                Ticket.organization_id == visitor.actor.organization_id,
                Ticket.number == number,
            )
        ).first()
        text = found or ""
    if not text:
        raise NotFound("no such ticket", field="ticket")
    return access_ticket(session, visitor.actor, text)


@router.post("/admin/contracts/dry-run")
def dry_run_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "{}",
) -> Response:
    """Decide a past ticket by the source as it stands (``actions.contracts.dry_run``): the
    outcome, the rule, the trace and every fact with its source. Nothing is logged."""
    services = services_of(request)

    def run() -> Response:
        try:
            supplied = jsonlimits.loads(facts or "{}", what="facts")
        except InvalidInput:
            raise InvalidInput("the claim facts are a JSON object", field="facts") from None
        if not isinstance(supplied, dict):
            raise InvalidInput("the claim facts are a JSON object", field="facts")
        with services.db.reader() as session:
            found = _ticket_by_reference(session, visitor, ticket)
            done = contract_actions.dry_run(
                session, visitor.actor, source, found, supplied, chain=services.chain_or_none()
            )
        return _editor(
            request, visitor, source, checked=done.contract, run=done, ticket=ticket, facts=facts
        )

    return _in_editor(request, visitor, (source, ticket, facts), run)


@router.post("/admin/contracts/publish")
def publish_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "{}",
) -> Response:
    """Publish (not activate): the version becomes public, citable by its hash."""

    def publish() -> Response:
        with services_of(request).db.writer() as session:
            row, _ = contract_actions.do_publish(session, visitor.actor, source)
            return RedirectResponse(f"/admin/contracts/{row.contract_hash}", 303)

    return _in_editor(request, visitor, (source, ticket, facts), publish)


@router.post("/admin/contracts/{contract_hash}/activate")
def activate_contract(
    request: Request, contract_hash: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: contract_actions.do_activate(session, visitor.actor, contract_hash),
        lambda _: RedirectResponse(f"/admin/contracts/{contract_hash}", 303),
    )
