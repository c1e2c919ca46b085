"""Agent macros: named sets of actions applied to a ticket in one click. Their actions are
those of automation rules (``contracts/automation.json``) plus a reply with its own text in both
languages, where the variables of :data:`proofdesk.rules.templates.VARIABLES` (``{{customer.name}}``,
``{{ticket.number}}``, ``{{agent.name}}``…) are filled in (and, as before, ``$ticket_number`` and
``$customer_name``). Each change a macro makes is the agent's event, with ``by`` naming the macro.

A macro is shared with the organization or with one team (supervisors and admins define those),
or personal: any agent keeps their own, which only they see (``access.visible_macros``)."""

from __future__ import annotations

import json
from string import Template
from typing import Any

import jsonschema
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_macro, require_manager, require_worker
from proofdesk.actions import contracts as contract_actions
from proofdesk.actions import tickets
from proofdesk.canonical import utc_now
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.rules import templates
from proofdesk.rules.document import schema
from proofdesk.store.models import Macro, Team, Ticket, User


def _validator() -> jsonschema.Draft202012Validator:
    rules = schema("Automation")
    reply = {
        "properties": {"type": {"const": "reply"}, "body": {"$ref": "#/$defs/text"}},
        "required": ["body"],
        "additionalProperties": False,
    }
    action = {
        "type": "object",
        "required": ["type"],
        "oneOf": [*rules["$defs"]["action"]["oneOf"], reply],
    }
    return jsonschema.Draft202012Validator(
        {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": {"$ref": "#/$defs/macro_action"},
            "$defs": {**rules["$defs"], "macro_action": action},
        }
    )


def check_actions(actions: list[dict[str, Any]]) -> None:
    errors = list(_validator().iter_errors(actions))
    if errors:
        worst = jsonschema.exceptions.best_match(errors)
        where = ".".join(str(p) for p in worst.absolute_path) or "actions"
        raise InvalidInput(f"actions.{where}: {worst.message}", field=f"actions.{where}")
    for action in actions:
        template = action.get("template") if action["type"] == "reply" else None
        if template is not None and template not in templates.TEMPLATES:
            raise InvalidInput(f"no template {template!r}", field="actions")
        for text in (action.get("body") or {}).values() if action["type"] == "reply" else ():
            unknown = templates.unknown_variables(text)
            if unknown:
                known = ", ".join("{{" + v + "}}" for v in templates.VARIABLES)
                raise InvalidInput(
                    f"unknown variable {{{{{unknown[0]}}}}} (known: {known})",
                    code="unknown_variable",
                    field="actions",
                )


def _check_scope(session: Session, actor: Actor, team_id: str | None, personal: bool) -> None:
    """Who may keep a macro where: anyone who works tickets a personal one; a supervisor or
    admin one shared with the organization or with a team of it."""
    if personal:
        require_worker(actor)
        if team_id is not None:
            raise InvalidInput("a personal macro is not shared with a team", field="team_id")
        return
    require_manager(actor)
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.organization_id != actor.organization_id:
            raise InvalidInput("no such team", code="no_such_team", field="team_id")


def _check_name(session: Session, actor: Actor, name: str, keep: int | None = None) -> None:
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a macro needs a name of 1-100 characters", field="name")
    taken = session.query(Macro).filter_by(organization_id=actor.organization_id, name=name).first()
    if taken is not None and taken.id != keep:
        raise Conflict("a macro of this name exists", code="macro_exists")


def do_create_macro(
    session: Session,
    actor: Actor,
    name: str,
    title: dict[str, str],
    actions: list[dict[str, Any]],
    *,
    team_id: str | None = None,
    personal: bool = False,
) -> Macro:
    _check_scope(session, actor, team_id, personal)
    check_actions(actions)
    _check_name(session, actor, name)
    row = Macro(
        organization_id=actor.organization_id,
        name=name,
        title=json.dumps(title, ensure_ascii=False, sort_keys=True),
        actions=json.dumps(actions, ensure_ascii=False, sort_keys=True),
        created_by=actor.user_id,
        created_at=utc_now(),
        team_id=team_id,
        owner_id=actor.user_id if personal else None,
    )
    session.add(row)
    session.flush()
    return row


def do_update_macro(
    session: Session,
    actor: Actor,
    macro_id: str,
    name: str,
    title: dict[str, str],
    actions: list[dict[str, Any]],
    *,
    team_id: str | None = None,
    personal: bool = False,
) -> Macro:
    """Change a macro the actor may change (``access_macro(write=True)``), and where it is
    shared: the new place must be one the actor may put a macro in too."""
    row = access_macro(session, actor, macro_id, write=True)
    _check_scope(session, actor, team_id, personal)
    check_actions(actions)
    _check_name(session, actor, name, keep=row.id)
    row.name = name
    row.title = json.dumps(title, ensure_ascii=False, sort_keys=True)
    row.actions = json.dumps(actions, ensure_ascii=False, sort_keys=True)
    row.team_id = team_id
    row.owner_id = actor.user_id if personal else None
    session.flush()
    return row


def do_delete_macro(session: Session, actor: Actor, macro_id: str) -> None:
    session.delete(access_macro(session, actor, macro_id, write=True))


def values_for(session: Session, actor: Actor, ticket: Ticket) -> dict[str, str]:
    """The variables' values for a reply on ``ticket`` by ``actor``."""
    customer = session.get(User, ticket.requester_id)
    agent = session.get(User, actor.user_id)
    agent_name = ""
    if agent is not None:
        agent_name = str(getattr(agent, "alias", None) or agent.display_name)
    return {
        "customer.name": customer.display_name if customer is not None else "",
        "customer.email": (customer.email or "") if customer is not None else "",
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "agent.name": agent_name,
        "agent.alias": agent_name,
    }


def reply_text(body: dict[str, str], locale: str, values: dict[str, str]) -> str:
    """A macro reply's text in ``locale`` with its variables filled in."""
    legacy = {
        "ticket_number": values["ticket.number"],
        "customer_name": values["customer.name"],
    }
    filled = templates.fill(templates.text(body, locale), values)
    return Template(filled).safe_substitute(legacy)


def replies_of(macro: Macro) -> list[dict[str, str]]:
    """The texts (``{"en", "zh-CN"}``) of the macro's replies, in order."""
    return [a["body"] for a in json.loads(macro.actions) if a["type"] == "reply" and "body" in a]


def do_apply_macro(session: Session, actor: Actor, ticket: Ticket, macro_id: str) -> None:
    """Apply every action of the macro to the ticket, as the agent; an action that cannot be
    done refuses the whole macro (nothing is half-applied)."""
    require_worker(actor)
    macro = access_macro(session, actor, macro_id)
    by = {"macro": macro.name, "macro_id": macro.id}
    customer = session.get(User, ticket.requester_id)
    locale = customer.locale if customer is not None else "en"
    values = values_for(session, actor, ticket)
    for action in sorted(json.loads(macro.actions), key=lambda a: a["type"] == "close"):
        if action["type"] == "reply" and "body" in action:
            text = reply_text(action["body"], locale, values)
            tickets.do_add_message(session, actor, ticket, body=text, by=by)
        else:
            note = contract_actions.do_act(session, actor, ticket, None, action, by)
            if note:
                raise InvalidInput(note, code="macro_action_failed")
