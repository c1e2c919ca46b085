"""Community Q&A over HTTP: anyone reads an organization's questions (``organization`` = its
slug); signed-in customers and staff ask, answer, comment, vote, accept and report; staff
moderate, close duplicates, promote answers to the knowledge base and turn a question into a
private ticket. Thin: parse → ``access_*`` → ``actions.community`` → respond."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import (
    Actor,
    CommunityReader,
    access_community_attachment,
    access_post,
    community_questions,
    community_reader,
    community_thread,
    moderation_queue,
)
from proofdesk.actions import community as actions
from proofdesk.api.deps import MaybeActor, ServicesDep, TicketsReader, TicketsWriter
from proofdesk.api.params import query_int
from proofdesk.api.routes.tickets import signature_claim
from proofdesk.api.schemas.community import (
    AcceptIn,
    AnswerIn,
    CommentIn,
    DuplicateIn,
    ModerationIn,
    PostedOut,
    PostOut,
    PrivateOut,
    PromotionIn,
    QuestionIn,
    QuestionPage,
    QueueItem,
    ReportIn,
    ReportOut,
    SimilarOut,
    ThreadOut,
    VoteIn,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.app.services import Services
from proofdesk.assistant.similar import article_suggestions, closest
from proofdesk.domain.community import PostKind, QuestionStatus
from proofdesk.domain.redaction import SECRET_WARNING
from proofdesk.errors import InvalidInput, NotFound
from proofdesk.i18n import translate
from proofdesk.store.models import CommunityPost, User

router = APIRouter(prefix="/community", tags=["community"])
PUBLIC = [per_address(Kind.PUBLIC)]
Organization = Query(default=None, min_length=1, max_length=64, description="Its slug.")


def names_of(session: Session, posts: list[CommunityPost]) -> dict[str, str]:
    ids = {p.author_id for p in posts}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
    return {str(user_id): str(name) for user_id, name in rows}


def _out(session: Session, reader: CommunityReader, post: CommunityPost) -> PostOut:
    return PostOut.of(post, names_of(session, [post]), staff=reader.is_staff)


def _posted(session: Session, actor: Actor, posted: actions.Posted) -> PostedOut:
    reader = CommunityReader(actor.organization_id, actor)
    out = _out(session, reader, posted.post).model_dump()
    user = session.get(User, actor.user_id)
    warning = None
    if posted.secrets:
        warning = translate(user.locale if user else "en", SECRET_WARNING)
    return PostedOut(**out, secrets_removed=posted.secrets, warning=warning)


def _limits(services: Services) -> actions.CommunityLimits:
    return actions.CommunityLimits.from_settings(services.settings)


def _own(session: Session, actor: Actor, post_id: str) -> CommunityPost:
    """A post of the actor's organization they may see, locked for the change."""
    return access_post(session, CommunityReader(actor.organization_id, actor), post_id, lock=True)


# -- reading ---------------------------------------------------------------------------------


@router.get(
    "/questions",
    response_model=QuestionPage,
    dependencies=PUBLIC,
    summary="An organization's questions, newest first (public)",
)
def list_questions(
    services: ServicesDep,
    actor: MaybeActor,
    organization: str | None = Organization,
    tag: str | None = Query(default=None, max_length=40),
    status: QuestionStatus | None = None,
    q: str | None = Query(default=None, max_length=200, description="Words to look for."),
    before: str | None = Query(default=None, max_length=40),
    limit: Annotated[int, query_int(ge=1, le=100)] = 20,
) -> QuestionPage:
    with services.db.reader() as session:
        reader = community_reader(session, actor, organization)
        query = community_questions(
            reader, tag=tag, status=status.value if status else None, text=q, before=before
        )
        rows = list(session.scalars(query.limit(limit + 1)))
        page, more = rows[:limit], len(rows) > limit
        names = names_of(session, page)
        return QuestionPage(
            items=[PostOut.of(p, names, staff=reader.is_staff) for p in page],
            next_before=page[-1].created_at if more else None,
        )


@router.get(
    "/questions/{question_id}",
    response_model=ThreadOut,
    dependencies=PUBLIC,
    summary="A question with its answers and comments (public)",
)
def get_question(
    question_id: str,
    services: ServicesDep,
    actor: MaybeActor,
    organization: str | None = Organization,
) -> ThreadOut:
    with services.db.reader() as session:
        reader = community_reader(session, actor, organization)
        question = access_post(session, reader, question_id)
        if question.kind != PostKind.QUESTION.value:
            raise NotFound("no such post", post_id=question_id)
        thread = community_thread(session, reader, question)
        names = names_of(session, [question, *thread])

        def out(p: CommunityPost) -> PostOut:
            return PostOut.of(p, names, staff=reader.is_staff)

        return ThreadOut(
            question=out(question),
            answers=[out(p) for p in thread if p.kind == PostKind.ANSWER.value],
            comments=[out(p) for p in thread if p.kind == PostKind.COMMENT.value],
        )


@router.get(
    "/similar",
    response_model=SimilarOut,
    dependencies=[per_address(Kind.ASSISTANT)],
    summary="Answered questions and articles like a text being written (public; runs the "
    "assistant's model)",
)
def similar(
    services: ServicesDep,
    actor: MaybeActor,
    text: str = Query(min_length=4, max_length=2000),
    locale: str = Query(default="en", pattern="^(en|zh-CN)$"),
    organization: str | None = Organization,
) -> SimilarOut:
    with services.db.reader() as session:
        reader = community_reader(session, actor, organization)
        candidates = [
            p
            for p in session.scalars(community_questions(reader).limit(500))
            if p.status in (QuestionStatus.ANSWERED.value, QuestionStatus.ACCEPTED.value)
        ]
    try:
        model = services.assistant.of(services.db, reader.organization_id)
    except NotFound:
        return SimilarOut(questions=[], articles=[])
    found = closest(model, text, candidates, [f"{p.title}\n{p.body}" for p in candidates])
    articles = article_suggestions(model, text, locale)
    with services.db.reader() as session:
        names = names_of(session, [p for p, _ in found])
    return SimilarOut(
        questions=[PostOut.of(p, names) for p, _ in found],
        articles=[{"slug": a.slug, "locale": a.locale, "title": a.title} for a in articles],
    )


@router.get(
    "/attachments/{attachment_id}",
    dependencies=PUBLIC,
    response_class=Response,
    summary="A file attached to a community post (public, like the post)",
)
def download(
    attachment_id: str,
    services: ServicesDep,
    actor: MaybeActor,
    organization: str | None = Organization,
) -> Response:
    with services.db.reader() as session:
        reader = community_reader(session, actor, organization)
        row = access_community_attachment(session, reader, attachment_id)
    return Response(
        services.blobs.get(row.sha256),
        media_type=row.content_type,
        headers={
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{row.sha256}"',
        },
    )


@router.get(
    "/moderation",
    response_model=list[QueueItem],
    summary="For staff: held posts and reported posts, oldest first",
)
def queue(services: ServicesDep, actor: TicketsReader) -> list[QueueItem]:
    with services.db.reader() as session:
        held, reports = moderation_queue(session, actor)
        posts = {p.id: p for p in held}
        by_post: dict[str, list[ReportOut]] = {}
        for report, post in reports:
            posts.setdefault(post.id, post)
            by_post.setdefault(post.id, []).append(
                ReportOut(
                    id=report.id,
                    post_id=post.id,
                    reason=report.reason,
                    created_at=report.created_at,
                )
            )
        names = names_of(session, list(posts.values()))
        return [
            QueueItem(post=PostOut.of(p, names, staff=True), reports=by_post.get(p.id, []))
            for p in posts.values()
        ]


# -- writing ---------------------------------------------------------------------------------


@router.post(
    "/questions",
    status_code=201,
    response_model=PostedOut,
    summary="Ask a question (a new account's first posts are held for review)",
)
def ask(body: QuestionIn, services: ServicesDep, actor: TicketsWriter) -> PostedOut:
    claim = signature_claim(services, body.signed)
    with services.db.writer() as session:
        posted = actions.do_ask(
            session,
            actor,
            _limits(services),
            title=body.title,
            body=body.body,
            tags=body.tags,
            locale=body.locale,
            attachment_ids=body.attachment_ids,
            signature=claim,
        )
        return _posted(session, actor, posted)


@router.post(
    "/questions/{question_id}/answers",
    status_code=201,
    response_model=PostedOut,
    summary="Answer a question",
)
def answer(
    question_id: str, body: AnswerIn, services: ServicesDep, actor: TicketsWriter
) -> PostedOut:
    claim = signature_claim(services, body.signed)
    with services.db.writer() as session:
        question = _own(session, actor, question_id)
        posted = actions.do_answer(
            session,
            actor,
            _limits(services),
            question,
            body=body.body,
            attachment_ids=body.attachment_ids,
            signature=claim,
        )
        return _posted(session, actor, posted)


@router.post(
    "/posts/{post_id}/comments",
    status_code=201,
    response_model=PostedOut,
    summary="Comment on a question or an answer",
)
def comment(
    post_id: str, body: CommentIn, services: ServicesDep, actor: TicketsWriter
) -> PostedOut:
    claim = signature_claim(services, body.signed)
    with services.db.writer() as session:
        parent = _own(session, actor, post_id)
        posted = actions.do_comment(
            session, actor, _limits(services), parent, body=body.body, signature=claim
        )
        return _posted(session, actor, posted)


@router.put("/posts/{post_id}/vote", response_model=PostOut, summary="Vote on a post")
def vote(post_id: str, body: VoteIn, services: ServicesDep, actor: TicketsWriter) -> PostOut:
    with services.db.writer() as session:
        post = actions.do_vote(session, actor, _own(session, actor, post_id), body.value)
        return _out(session, CommunityReader(actor.organization_id, actor), post)


@router.put(
    "/questions/{question_id}/accepted",
    response_model=PostOut,
    summary="Accept an answer (the asker, or staff)",
)
def accept(
    question_id: str, body: AcceptIn, services: ServicesDep, actor: TicketsWriter
) -> PostOut:
    with services.db.writer() as session:
        question = _own(session, actor, question_id)
        answer = _own(session, actor, body.answer_id)
        actions.do_accept(session, actor, question, answer)
        return _out(session, CommunityReader(actor.organization_id, actor), question)


@router.delete(
    "/questions/{question_id}/accepted",
    response_model=PostOut,
    summary="Take the acceptance back (the asker, or staff)",
)
def unaccept(question_id: str, services: ServicesDep, actor: TicketsWriter) -> PostOut:
    with services.db.writer() as session:
        question = actions.do_unaccept(session, actor, _own(session, actor, question_id))
        return _out(session, CommunityReader(actor.organization_id, actor), question)


@router.post(
    "/questions/{question_id}/duplicate",
    response_model=PostOut,
    summary="For staff: close a question as a duplicate of another",
)
def duplicate(
    question_id: str, body: DuplicateIn, services: ServicesDep, actor: TicketsWriter
) -> PostOut:
    with services.db.writer() as session:
        question = _own(session, actor, question_id)
        original = _own(session, actor, body.original_id)
        actions.do_close_duplicate(session, actor, question, original)
        return _out(session, CommunityReader(actor.organization_id, actor), question)


@router.post(
    "/posts/{post_id}/reports",
    status_code=201,
    response_model=ReportOut,
    summary="Report a post to the moderators",
)
def report(post_id: str, body: ReportIn, services: ServicesDep, actor: TicketsWriter) -> ReportOut:
    with services.db.writer() as session:
        row = actions.do_report(session, actor, _own(session, actor, post_id), body.reason)
        return ReportOut(
            id=row.id, post_id=row.post_id, reason=row.reason, created_at=row.created_at
        )


@router.post(
    "/posts/{post_id}/moderation",
    response_model=PostOut,
    summary="For staff: approve a held post, hide or restore one (with a reason), or dismiss "
    "its reports",
)
def moderate(
    post_id: str, body: ModerationIn, services: ServicesDep, actor: TicketsWriter
) -> PostOut:
    if body.action in ("hide", "restore") and not body.reason:
        raise InvalidInput("give the reason", field="reason")
    with services.db.writer() as session:
        post = _own(session, actor, post_id)
        if body.action == "approve":
            actions.do_approve(session, actor, post)
        elif body.action == "hide":
            actions.do_hide(session, actor, post, body.reason or "")
        elif body.action == "restore":
            actions.do_restore(session, actor, post, body.reason or "")
        else:
            actions.do_dismiss_reports(session, actor, post)
        return _out(session, CommunityReader(actor.organization_id, actor), post)


@router.post(
    "/answers/{answer_id}/promote",
    status_code=201,
    response_model=list[dict[str, str]],
    summary="For supervisors and admins: make an accepted answer a knowledge-base article in "
    "both languages, its author credited",
)
def promote(
    answer_id: str, body: PromotionIn, services: ServicesDep, actor: TicketsWriter
) -> list[dict[str, str]]:
    spec = actions.Promotion(**body.model_dump())
    with services.db.writer() as session:
        articles = actions.do_promote_to_kb(session, actor, _own(session, actor, answer_id), spec)
    return [
        {"slug": a.slug, "locale": a.locale, "title": a.title, "audience": a.audience}
        for a in articles
    ]


@router.post(
    "/questions/{question_id}/private",
    status_code=201,
    response_model=PrivateOut,
    summary="For staff: turn the question into a private request of its author",
)
def make_private(question_id: str, services: ServicesDep, actor: TicketsWriter) -> PrivateOut:
    with services.db.writer() as session:
        question = _own(session, actor, question_id)
        state = actions.do_make_private(session, actor, question)
        out = _out(session, CommunityReader(actor.organization_id, actor), question)
        return PrivateOut(question=out, ticket_id=state.id)
