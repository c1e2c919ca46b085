"""Macros: supervisors and admins define them, agents apply them to tickets."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from proofdesk.access import access_ticket, visible_macros
from proofdesk.actions import macros as actions
from proofdesk.api.deps import ServicesDep, TicketsReader, TicketsWriter
from proofdesk.api.schemas.common import TicketOut
from proofdesk.api.schemas.macros import MacroIn, MacroOut
from proofdesk.store.events import row_to_state
from proofdesk.store.models import Macro

router = APIRouter(tags=["macros"])


def _out(row: Macro) -> MacroOut:
    return MacroOut(
        id=row.id,
        name=row.name,
        title=json.loads(row.title),
        actions=json.loads(row.actions),
        team_id=row.team_id,
        personal=row.owner_id is not None,
    )


@router.get("/macros", response_model=list[MacroOut], summary="The organization's macros")
def list_macros(services: ServicesDep, actor: TicketsReader) -> list[MacroOut]:
    with services.db.reader() as session:
        rows = session.scalars(visible_macros(actor).order_by(Macro.name)).all()
        return [_out(r) for r in rows]


@router.post("/macros", status_code=201, response_model=MacroOut, summary="Define a macro")
def create_macro(body: MacroIn, services: ServicesDep, actor: TicketsWriter) -> MacroOut:
    title = body.title.model_dump(by_alias=True)
    with services.db.writer() as session:
        row = actions.do_create_macro(
            session,
            actor,
            body.name,
            title,
            body.actions,
            team_id=body.team_id,
            personal=body.personal,
        )
        return _out(row)


@router.delete("/macros/{macro_id}", status_code=204, summary="Remove a macro")
def delete_macro(macro_id: str, services: ServicesDep, actor: TicketsWriter) -> Response:
    with services.db.writer() as session:
        actions.do_delete_macro(session, actor, macro_id)
    return Response(status_code=204)


@router.post(
    "/tickets/{ticket_id}/macros/{macro_id}",
    response_model=TicketOut,
    summary="Apply a macro to a ticket (all its actions, or none)",
)
def apply_macro(
    ticket_id: str, macro_id: str, services: ServicesDep, actor: TicketsWriter
) -> TicketOut:
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        actions.do_apply_macro(session, actor, ticket, macro_id)
        return TicketOut.of(row_to_state(ticket))
