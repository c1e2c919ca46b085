"""Admins manage SLA policies; every change recomputes the organization's open tickets' timers
in the same transaction, so the queue's order is never stale."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_sla_policy, require_admin
from proofdesk.actions.sla_timers import do_recompute_sla
from proofdesk.canonical import utc_now
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.sla.policies import check_policy_fields
from proofdesk.store.models import SlaPolicy

FIELDS = (
    "name",
    "position",
    "kinds",
    "priorities",
    "tiers",
    "first_response_minutes",
    "next_response_minutes",
    "periodic_update_minutes",
    "resolution_minutes",
    "warn_before_minutes",
    "escalate_to",
    "calendar",
)
_JSON = ("kinds", "priorities", "tiers", "calendar")


def as_dict(row: SlaPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id}
    for name in FIELDS:
        value = getattr(row, name)
        out[name] = json.loads(value) if name in _JSON and value is not None else value
    return out


def _store(session: Session, actor: Actor, row: SlaPolicy, values: dict[str, Any]) -> None:
    check_policy_fields(values)
    clash = session.scalars(
        select(SlaPolicy.id).where(
            SlaPolicy.organization_id == actor.organization_id,
            SlaPolicy.name == values["name"],
            SlaPolicy.id != (row.id or -1),
        )
    ).first()
    if clash is not None:
        raise Conflict("a policy of this name exists", code="policy_exists")
    for name in FIELDS:
        value = values.get(name)
        if name in _JSON and value is not None:
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        setattr(row, name, value)
    row.updated_at = utc_now()
    session.add(row)
    session.flush()
    do_recompute_sla(session, utc_now(), actor.organization_id)


def do_create_policy(session: Session, actor: Actor, values: dict[str, Any]) -> SlaPolicy:
    require_admin(actor)
    row = SlaPolicy(organization_id=actor.organization_id, created_at=utc_now())
    _store(session, actor, row, values)
    return row


def do_update_policy(
    session: Session, actor: Actor, policy_id: str, values: dict[str, Any]
) -> SlaPolicy:
    require_admin(actor)
    row = access_sla_policy(session, actor, policy_id)
    _store(session, actor, row, values)
    return row


def do_delete_policy(session: Session, actor: Actor, policy_id: str) -> None:
    require_admin(actor)
    row = access_sla_policy(session, actor, policy_id)
    session.delete(row)
    session.flush()
    do_recompute_sla(session, utc_now(), actor.organization_id)


def check_minutes(values: dict[str, Any]) -> None:
    for name in FIELDS:
        if name.endswith("_minutes") and values.get(name) is not None and values[name] < 1:
            raise InvalidInput(f"{name} must be at least 1", field=name)
