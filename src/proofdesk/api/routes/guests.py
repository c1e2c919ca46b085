"""The chat widget for shop visitors without an account (``assistant.guests``): conversation
turns, feedback, leaving an e-mail or a wallet address to hand off, then the request's public
replies and the visitor's own. No credential: the conversation's random id is the key, and
every operation has its window per address (``app.limits``); leaving a contact has a second
window per contact, so one e-mail cannot be flooded with requests from many addresses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from proofdesk.access import Actor
from proofdesk.api.deps import ServicesDep
from proofdesk.api.routes.assistant import turn_out
from proofdesk.api.schemas.assistant import AssistantReplyOut
from proofdesk.api.schemas.guests import (
    GuestContactIn,
    GuestFeedbackIn,
    GuestMessageIn,
    GuestMessageOut,
    GuestReplyIn,
)
from proofdesk.app.limits import Kind, address_of, per_address
from proofdesk.app.services import Services
from proofdesk.assistant import conversation, guests
from proofdesk.assistant.guests import guest_actor

router = APIRouter(tags=["widget"])


def _visitor(services: Services, organization: str) -> Actor:
    with services.db.reader() as session:
        return guest_actor(session, organization)


@router.post(
    "/widget/messages",
    response_model=AssistantReplyOut,
    summary="A visitor's conversation turn (no account): an answer, or a request for a contact",
    dependencies=[per_address(Kind.ASSISTANT)],
)
def guest_message(body: GuestMessageIn, services: ServicesDep) -> AssistantReplyOut:
    actor = _visitor(services, body.organization)
    result = conversation.take_turn(
        services.db,
        services.assistant,
        actor,
        body.text,
        conversation_id=body.conversation_id,
        locale=body.locale,
        chain=services.chain_or_none(),
        settings=services.settings,
    )
    return turn_out(result)


@router.post(
    "/widget/turns/{turn_id}/feedback",
    response_model=AssistantReplyOut | None,
    summary="Did the answer help a visitor? A no asks for a contact",
    dependencies=[per_address(Kind.ASSISTANT)],
)
def guest_feedback(
    turn_id: str, body: GuestFeedbackIn, services: ServicesDep
) -> AssistantReplyOut | Response:
    actor = _visitor(services, body.organization)
    guests.check_guest_turn(services.db, actor, body.conversation_id, turn_id)
    result = conversation.feedback(services.db, services.assistant, actor, turn_id, body.helpful)
    return Response(status_code=204) if result is None else turn_out(result)


@router.post(
    "/widget/conversations/{conversation_id}/contact",
    response_model=AssistantReplyOut,
    summary="A visitor leaves an e-mail or a wallet address: a person takes over",
    dependencies=[per_address(Kind.ASSISTANT)],
)
def guest_contact(
    conversation_id: str, body: GuestContactIn, request: Request, services: ServicesDep
) -> AssistantReplyOut:
    actor = _visitor(services, body.organization)
    services.limits.assistant(address_of(request), "contact:" + body.contact.strip().lower())
    return turn_out(
        guests.hand_off_guest(services.db, services.assistant, actor, conversation_id, body.contact)
    )


@router.get(
    "/widget/conversations/{conversation_id}/messages",
    response_model=list[GuestMessageOut],
    summary="The public messages of a visitor's request",
    dependencies=[per_address(Kind.PUBLIC)],
)
def guest_messages(
    conversation_id: str,
    services: ServicesDep,
    organization: Annotated[str, Query(max_length=63)] = "",
) -> list[GuestMessageOut]:
    actor = _visitor(services, organization)
    return [
        GuestMessageOut(**m.__dict__)
        for m in guests.guest_messages(services.db, actor, conversation_id)
    ]


@router.post(
    "/widget/conversations/{conversation_id}/messages",
    status_code=204,
    summary="A visitor writes into their request",
    dependencies=[per_address(Kind.ASSISTANT)],
)
def guest_reply(conversation_id: str, body: GuestReplyIn, services: ServicesDep) -> Response:
    actor = _visitor(services, body.organization)
    guests.guest_reply(services.db, actor, conversation_id, body.text)
    return Response(status_code=204)
