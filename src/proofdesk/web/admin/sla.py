"""The SLA policy pages of the admin: the form with its business calendar, saved through
``actions.sla`` as the API's policies are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from proofdesk.access import access_sla_policy
from proofdesk.actions import sla as sla_actions
from proofdesk.actions.inputs import checked_policy
from proofdesk.app.services import services_of
from proofdesk.domain.identifiers import row_id
from proofdesk.domain.tickets import Kind, Priority
from proofdesk.errors import Error, InvalidInput, NotFound
from proofdesk.web.admin.overview import admin, attempt
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    error_text,
    integer_field,
    locale_of,
    posted_by,
    reading,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


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
    own schema (``actions.inputs``) and gives what ``actions.sla`` stores."""

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
        return checked_policy(data)

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
    return attempt(
        request,
        visitor,
        lambda session: sla_actions.do_delete_policy(session, visitor.actor, policy_id),
    )
