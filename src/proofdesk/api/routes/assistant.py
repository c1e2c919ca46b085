"""The assistant over HTTP (a conversation turn, feedback) and the knowledge base (read by
everyone in the organization, public articles only for customers; written by supervisors)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from proofdesk.access import Actor, access_ticket, require_manager, require_staff
from proofdesk.actions.kb import do_save_article
from proofdesk.api.deps import ServicesDep, TicketsReader, TicketsWriter
from proofdesk.api.params import query_int
from proofdesk.api.schemas.assistant import (
    AssistantFeedbackIn,
    AssistantMessageIn,
    AssistantReplyOut,
    AssistantSourceOut,
    KbArticleIn,
    KbArticleOut,
)
from proofdesk.app.limits import address_of
from proofdesk.app.services import Services
from proofdesk.assistant import conversation, kb
from proofdesk.assistant.assist import metrics, suggestions, ticket_locale, top_issues
from proofdesk.assistant.conversation import TurnResult
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.markdown import to_html
from proofdesk.errors import InvalidInput
from proofdesk.store.models import KbArticle, User

router = APIRouter(tags=["assistant"])


def _runs_the_assistant(request: Request, services: Services, actor: Actor) -> None:
    """Count a run of the assistant's models against its abuse limits (``app.limits``), by
    address and by account, once the caller's scope and role let them in."""
    services.limits.assistant(address_of(request), actor.user_id)


def turn_out(result: TurnResult) -> AssistantReplyOut:
    turn, reply = result.turn, result.reply
    sources = (
        [
            AssistantSourceOut(
                slug=reply.article.slug, locale=reply.article.locale, title=reply.article.title
            )
        ]
        if reply.kind == "answer" and reply.article is not None
        else []
    )
    return AssistantReplyOut(
        turn_id=turn.id,
        conversation_id=turn.conversation_id,
        kind="answer" if reply.kind == "answer" else "handoff",
        reason=reply.reason,
        intent=reply.intent,
        confidence=round(reply.confidence, 4),
        text=result.text,
        html=to_html(result.text),
        sources=sources,
        entities=[
            {
                "kind": e.kind,
                "value": e.value,
                "valid": e.valid,
                "problem": e.problem,
                "detail": e.detail,
            }
            for e in result.entities
        ],
        transactions=[
            {
                k: (str(v) if k == "block_time" and v is not None else v)
                for k, v in asdict(r).items()
            }
            for r in result.transactions
        ],
        ticket_id=result.ticket.id if result.ticket else None,
        ticket_number=result.ticket.number if result.ticket else None,
        locale=turn.locale,
        needs_contact=reply.kind != "answer" and result.ticket is None,
    )


@router.post(
    "/assistant/messages",
    response_model=AssistantReplyOut,
    summary="A conversation turn: the assistant answers with sources, or hands off to a person",
)
def message(
    body: AssistantMessageIn, request: Request, services: ServicesDep, actor: TicketsWriter
) -> AssistantReplyOut:
    _runs_the_assistant(request, services, actor)
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
    "/assistant/turns/{turn_id}/feedback",
    response_model=AssistantReplyOut | None,
    summary="Did the answer help? A no hands the conversation to a person",
)
def feedback(
    turn_id: str,
    body: AssistantFeedbackIn,
    request: Request,
    services: ServicesDep,
    actor: TicketsWriter,
) -> AssistantReplyOut | Response:
    _runs_the_assistant(request, services, actor)
    result = conversation.feedback(services.db, services.assistant, actor, turn_id, body.helpful)
    return Response(status_code=204) if result is None else turn_out(result)


def _article_out(row: KbArticle) -> KbArticleOut:
    return KbArticleOut(**asdict(kb.to_spec(row)), version=row.version, updated_at=row.updated_at)


@router.get("/kb/articles", response_model=list[KbArticleOut], summary="Knowledge-base articles")
def list_articles(services: ServicesDep, actor: TicketsReader) -> list[KbArticleOut]:
    with services.db.reader() as session:
        rows = kb.articles(session, actor.organization_id)
        return [_article_out(r) for r in rows if actor.is_staff or r.audience == "public"]


@router.put(
    "/kb/articles",
    response_model=KbArticleOut,
    summary="Create or change an article (by slug and language); each change is a version",
)
def put_article(body: KbArticleIn, services: ServicesDep, actor: TicketsWriter) -> KbArticleOut:
    with services.db.writer() as session:
        spec = kb.ArticleSpec(**body.model_dump())
        do_save_article(session, actor, actor.organization_id, spec)
        row = next(
            r
            for r in kb.articles(session, actor.organization_id)
            if (r.slug, r.locale) == (spec.slug, spec.locale)
        )
        return _article_out(row)


@router.get(
    "/tickets/{ticket_id}/assist",
    summary="For agents: suggested replies with their sources, and similar solved tickets",
)
def assist(
    ticket_id: str, request: Request, services: ServicesDep, actor: TicketsReader
) -> dict[str, Any]:
    require_staff(actor)
    _runs_the_assistant(request, services, actor)
    with services.db.reader() as session:
        access_ticket(session, actor, ticket_id)  # refused before anything else is done
    model = services.assistant.of(services.db, actor.organization_id)
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        customer = session.get(User, ticket.requester_id)
        locale = ticket_locale(session, ticket, customer.locale if customer else "en")
        suggested, similar = suggestions(session, model, ticket, locale)
    return {
        "suggestions": [asdict(s) for s in suggested],
        "similar_tickets": [asdict(s) for s in similar],
    }


@router.get(
    "/analytics/assistant",
    summary="Containment, hand-offs and false containment of the assistant's conversations",
)
def assistant_metrics(
    services: ServicesDep,
    actor: TicketsReader,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    require_manager(actor)
    until = end or utc_now()
    since = start or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("from and to carry a time zone (…Z)", field="from")
    if since >= until:
        raise InvalidInput("from must be before to", field="from")
    with services.db.reader() as session:
        found = metrics(session, actor.organization_id, since, until)
    return {"from": format_time(since), "to": format_time(until), **found.as_dict()}


@router.get(
    "/analytics/top-issues",
    summary="Clusters of recent tickets: label, volume, trend, top terms and a draft FAQ entry",
)
def top_issues_route(
    request: Request,
    services: ServicesDep,
    actor: TicketsReader,
    days: Annotated[int, query_int(ge=1, le=365)] = 14,
    clusters: Annotated[int, query_int(ge=1, le=30)] = 8,
) -> list[dict[str, Any]]:
    require_manager(actor)
    _runs_the_assistant(request, services, actor)
    until = utc_now()
    model = services.assistant.of(services.db, actor.organization_id)
    with services.db.reader() as session:
        found = top_issues(
            session, model, actor.organization_id, until - timedelta(days=days), until, clusters
        )
    return [asdict(c) for c in found]
