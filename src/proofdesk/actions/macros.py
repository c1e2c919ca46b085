"""Agent macros: named sets of actions applied to a ticket in one click. Their actions are
those of automation rules (``contracts/automation.json``) plus a reply with its own text in both
languages, where ``$ticket_number`` and ``$customer_name`` are filled in. Each change a macro
makes is the agent's event, with ``by`` naming the macro."""

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
from proofdesk.store.models import Macro, Ticket, User


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


def do_create_macro(
    session: Session, actor: Actor, name: str, title: dict[str, str], actions: list[dict[str, Any]]
) -> Macro:
    require_manager(actor)
    check_actions(actions)
    if session.query(Macro).filter_by(organization_id=actor.organization_id, name=name).first():
        raise Conflict("a macro of this name exists", code="macro_exists")
    row = Macro(
        organization_id=actor.organization_id,
        name=name,
        title=json.dumps(title, ensure_ascii=False, sort_keys=True),
        actions=json.dumps(actions, ensure_ascii=False, sort_keys=True),
        created_by=actor.user_id,
        created_at=utc_now(),
    )
    session.add(row)
    session.flush()
    return row


def do_delete_macro(session: Session, actor: Actor, macro_id: str) -> None:
    require_manager(actor)
    session.delete(access_macro(session, actor, macro_id))


def do_apply_macro(session: Session, actor: Actor, ticket: Ticket, macro_id: str) -> None:
    """Apply every action of the macro to the ticket, as the agent; an action that cannot be
    done refuses the whole macro (nothing is half-applied)."""
    require_worker(actor)
    macro = access_macro(session, actor, macro_id)
    by = {"macro": macro.name, "macro_id": macro.id}
    customer = session.get(User, ticket.requester_id)
    locale = customer.locale if customer is not None else "en"
    values = {
        "ticket_number": str(ticket.number),
        "customer_name": customer.display_name if customer is not None else "",
    }
    for action in sorted(json.loads(macro.actions), key=lambda a: a["type"] == "close"):
        if action["type"] == "reply" and "body" in action:
            text = Template(templates.text(action["body"], locale)).safe_substitute(values)
            tickets.do_add_message(session, actor, ticket, body=text, by=by)
        else:
            note = contract_actions.do_act(session, actor, ticket, None, action, by)
            if note:
                raise InvalidInput(note, code="macro_action_failed")
