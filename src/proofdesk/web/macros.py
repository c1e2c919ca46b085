"""The console's macros page, ``/agent/macros``: canned replies (and the other actions a macro
holds) to list, create, edit and delete, shared with the organization or a team, or personal.
Writes go through :mod:`proofdesk.actions.macros`; who sees which is ``access.visible_macros``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from proofdesk.access import access_macro, visible_macros
from proofdesk.actions import macros as actions
from proofdesk.app.services import services_of
from proofdesk.domain.roles import MANAGERS, WORKERS
from proofdesk.errors import InvalidInput
from proofdesk.rules.templates import VARIABLES
from proofdesk.store.models import Macro, Team
from proofdesk.web.pages import Visitor, WebRoute, posted_by, reading, render, staff

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _writable(visitor: Visitor, row: Macro) -> bool:
    if row.owner_id is not None:
        return row.owner_id == visitor.actor.user_id
    return visitor.actor.role in MANAGERS


def _form_of(row: Macro | None) -> dict[str, Any]:
    """What the edit form shows of ``row`` (empty for a new macro)."""
    if row is None:
        return {"name": "", "title": {}, "body": {}, "scope": "personal", "others": 0}
    stored = json.loads(row.actions)
    replies = [a["body"] for a in stored if a["type"] == "reply" and "body" in a]
    scope = "personal" if row.owner_id else (f"team:{row.team_id}" if row.team_id else "all")
    return {
        "name": row.name,
        "title": json.loads(row.title),
        "body": replies[0] if replies else {},
        "scope": scope,
        "others": sum(1 for a in stored if not (a["type"] == "reply" and "body" in a)),
    }


def _page(request: Request, visitor: Visitor, editing: Macro | None) -> Response:
    with reading(request) as session:
        rows = session.scalars(visible_macros(visitor.actor).order_by(Macro.name)).all()
        teams = dict(
            session.execute(
                select(Team.id, Team.name)
                .where(Team.organization_id == visitor.actor.organization_id)
                .order_by(Team.name)
            ).all()
        )
    listed = [
        {
            "id": row.id,
            "name": row.name,
            "title": json.loads(row.title),
            "replies": actions.replies_of(row),
            "scope": "personal" if row.owner_id else (row.team_id or ""),
            "writable": _writable(visitor, row),
        }
        for row in rows
    ]
    return render(
        request,
        visitor,
        "agent_macros.html",
        macros=listed,
        teams=teams,
        editing=editing.id if editing is not None else None,
        form=_form_of(editing),
        variables=VARIABLES,
        may_share=visitor.actor.role in MANAGERS,
        may_write=visitor.actor.role in WORKERS,
    )


@router.get("/agent/macros")
def macros_page(request: Request) -> Response:
    return _page(request, staff(request), None)


@router.get("/agent/macros/{macro_id}")
def macro_page(request: Request, macro_id: str) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        row = access_macro(session, visitor.actor, macro_id, write=True)
        session.expunge(row)
    return _page(request, visitor, row)


def _both(en: str, zh: str, field: str, required: bool) -> dict[str, str] | None:
    """A text in both languages from the form; one language alone serves for both."""
    en, zh = en.strip(), zh.strip()
    if not en and not zh:
        if required:
            raise InvalidInput("write it in at least one language", field=field)
        return None
    return {"en": en or zh, "zh-CN": zh or en}


def _scope(scope: str) -> tuple[str | None, bool]:
    """(team id, personal) from the form's ``scope``: ``personal``, ``all`` or ``team:<id>``."""
    if scope == "personal":
        return None, True
    if scope == "all":
        return None, False
    if scope.startswith("team:") and len(scope) > 5:
        return scope[5:], False
    raise InvalidInput("choose who shares the macro", field="scope")


def _actions(body: dict[str, str] | None, kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reply = [{"type": "reply", "body": body}] if body is not None else []
    return [*reply, *kept]


@router.post("/agent/macros")
def create_macro(
    request: Request,
    visitor: Annotated[Visitor, posted_by(staff)],
    name: Annotated[str, Form()] = "",
    title_en: Annotated[str, Form()] = "",
    title_zh: Annotated[str, Form()] = "",
    body_en: Annotated[str, Form()] = "",
    body_zh: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "personal",
) -> Response:
    team_id, personal = _scope(scope)
    title = _both(title_en, title_zh, "title", required=True)
    assert title is not None
    body = _both(body_en, body_zh, "body", required=True)
    with services_of(request).db.writer() as session:
        actions.do_create_macro(
            session,
            visitor.actor,
            name.strip(),
            title,
            _actions(body, []),
            team_id=team_id,
            personal=personal,
        )
    return RedirectResponse("/agent/macros", 303)


@router.post("/agent/macros/{macro_id}")
def update_macro(
    request: Request,
    macro_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    name: Annotated[str, Form()] = "",
    title_en: Annotated[str, Form()] = "",
    title_zh: Annotated[str, Form()] = "",
    body_en: Annotated[str, Form()] = "",
    body_zh: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "personal",
) -> Response:
    """Save the edit form; the macro's actions other than its reply are kept as they were."""
    team_id, personal = _scope(scope)
    title = _both(title_en, title_zh, "title", required=True)
    assert title is not None
    body = _both(body_en, body_zh, "body", required=False)
    with services_of(request).db.writer() as session:
        row = access_macro(session, visitor.actor, macro_id, write=True)
        stored = json.loads(row.actions)
        kept = [a for a in stored if not (a["type"] == "reply" and "body" in a)]
        actions.do_update_macro(
            session,
            visitor.actor,
            macro_id,
            name.strip(),
            title,
            _actions(body, kept),
            team_id=team_id,
            personal=personal,
        )
    return RedirectResponse("/agent/macros", 303)


@router.post("/agent/macros/{macro_id}/delete")
def delete_macro(
    request: Request, macro_id: str, visitor: Annotated[Visitor, posted_by(staff)]
) -> Response:
    with services_of(request).db.writer() as session:
        actions.do_delete_macro(session, visitor.actor, macro_id)
    return RedirectResponse("/agent/macros", 303)
