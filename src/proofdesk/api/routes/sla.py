"""SLA policies (admins write, staff read) and a ticket's SLA timers."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from proofdesk.access import access_ticket, require_staff
from proofdesk.actions import sla as actions
from proofdesk.actions.inputs import SlaPolicyIn, policy_values
from proofdesk.actions.sla_timers import ticket_timers
from proofdesk.api.deps import AdminScoped, ServicesDep, TicketsReader
from proofdesk.api.schemas.sla import SlaPolicyOut, TicketSlaOut
from proofdesk.canonical import utc_now
from proofdesk.sla.policies import due_of, timer_json
from proofdesk.sla.timers import NEVER
from proofdesk.store.models import SlaPolicy

router = APIRouter(tags=["sla"])


@router.get("/sla/policies", response_model=list[SlaPolicyOut], summary="SLA policies, in order")
def list_policies(services: ServicesDep, actor: TicketsReader) -> list[SlaPolicyOut]:
    require_staff(actor)
    from sqlalchemy import select

    with services.db.reader() as session:
        rows = session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.organization_id == actor.organization_id)
            .order_by(SlaPolicy.position, SlaPolicy.id)
        ).all()
        return [SlaPolicyOut(**actions.as_dict(r)) for r in rows]


@router.post(
    "/sla/policies",
    status_code=201,
    response_model=SlaPolicyOut,
    summary="Add a policy (the first matching policy by position applies)",
)
def create_policy(body: SlaPolicyIn, services: ServicesDep, actor: AdminScoped) -> SlaPolicyOut:
    with services.db.writer() as session:
        row = actions.do_create_policy(session, actor, policy_values(body))
        return SlaPolicyOut(**actions.as_dict(row))


@router.put("/sla/policies/{policy_id}", response_model=SlaPolicyOut, summary="Change a policy")
def update_policy(
    policy_id: str, body: SlaPolicyIn, services: ServicesDep, actor: AdminScoped
) -> SlaPolicyOut:
    with services.db.writer() as session:
        row = actions.do_update_policy(session, actor, policy_id, policy_values(body))
        return SlaPolicyOut(**actions.as_dict(row))


@router.delete("/sla/policies/{policy_id}", status_code=204, summary="Remove a policy")
def delete_policy(policy_id: str, services: ServicesDep, actor: AdminScoped) -> Response:
    with services.db.writer() as session:
        actions.do_delete_policy(session, actor, policy_id)
    return Response(status_code=204)


@router.get(
    "/tickets/{ticket_id}/sla",
    response_model=TicketSlaOut,
    summary="The ticket's SLA policy and timers now (state, business time spent, due, breach)",
)
def ticket_sla(ticket_id: str, services: ServicesDep, actor: TicketsReader) -> TicketSlaOut:
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        policy, found, _ = ticket_timers(session, ticket, utc_now())
        due, _warn = due_of(found)
        return TicketSlaOut(
            policy=SlaPolicyOut(**actions.as_dict(policy)) if policy else None,
            due_at=None if due == NEVER else due,
            timers=json.loads(timer_json(found)),
        )
