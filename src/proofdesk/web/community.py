"""The community pages: ``/community`` (questions, by tag, status and words), ``/community/ask``
(answered questions and articles like the one being typed appear before it is posted, as on the
request form), ``/community/questions/{id}`` (answers with the staff badge, votes, accepting,
reporting; for staff: moderation and turning the question into a private request) and
``/community/moderation`` (the staff queue). Anyone reads (a stranger names the organization
with ``?org=``); posting needs a session. Reads go through ``access``, writes through
``actions.community``, the same as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.access import (
    CommunityReader,
    access_post,
    community_questions,
    community_reader,
    community_thread,
    moderation_queue,
)
from proofdesk.actions import community as actions
from proofdesk.app.limits import address_of
from proofdesk.app.services import services_of
from proofdesk.assistant.similar import article_suggestions, closest
from proofdesk.domain.community import OPEN_STATUSES, PostKind, QuestionStatus
from proofdesk.domain.redaction import SECRET_WARNING
from proofdesk.errors import Error, InvalidInput, NotFound
from proofdesk.i18n import translate
from proofdesk.store.models import CommunityPost, Organization, User
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    current,
    error_text,
    locale_of,
    posted_by,
    reading,
    render,
    signed_in,
    staff,
)
from proofdesk.web.portal import uploads

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = 20


def _reader(session: Session, request: Request, org: str) -> CommunityReader:
    """The reader of the community the page is about: ``org`` for a stranger (or the only
    organization of a deployment of one), the visitor's own otherwise."""
    visitor = current(request)
    actor = visitor.actor if visitor is not None and visitor.mfa_ok else None
    if not org and actor is None:
        slugs = session.scalars(select(Organization.slug).limit(2)).all()
        if len(slugs) != 1:
            raise NotFound("name the organization", code="not_found")
        org = slugs[0]
    return community_reader(session, actor, org or None)


def _names(session: Session, posts: list[CommunityPost]) -> dict[str, str]:
    ids = {p.author_id for p in posts}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
    return {str(user_id): str(name) for user_id, name in rows}


def _org_query(request: Request) -> str:
    org = request.query_params.get("org", "")
    return f"?{urlencode({'org': org})}" if org else ""


@router.get("/community")
def questions(
    request: Request, org: str = "", tag: str = "", status: str = "", q: str = "", before: str = ""
) -> Response:
    """The questions, newest first, narrowed to a tag, a status or words."""
    chosen = status if status in {s.value for s in QuestionStatus} else ""
    with reading(request) as session:
        reader = _reader(session, request, org)
        query = community_questions(
            reader, tag=tag[:40] or None, status=chosen or None, text=q[:200], before=before[:40]
        )
        rows = list(session.scalars(query.limit(PAGE + 1)))
        page = rows[:PAGE]
        names = _names(session, page)
        held = (
            session.scalar(
                select(func.count(CommunityPost.id)).where(
                    CommunityPost.organization_id == reader.organization_id,
                    CommunityPost.state == "held",
                )
            )
            if reader.is_staff
            else 0
        )
    more = ""
    if len(rows) > PAGE:
        params = {"org": org, "tag": tag, "status": chosen, "q": q, "before": page[-1].created_at}
        more = "/community?" + urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        current(request),
        "community.html",
        questions=page,
        names=names,
        statuses=[s.value for s in QuestionStatus],
        chosen_status=chosen,
        tag=tag,
        q=q,
        org=org,
        next_link=more,
        held=held,
        staff_view=reader.is_staff,
    )


@router.get("/community/ask")
def ask_form(request: Request) -> Response:
    visitor = signed_in(request)
    return render(request, visitor, "community_ask.html", form={}, error=None)


@router.get("/community/similar")
def similar(request: Request, title: str = "", body: str = "") -> Response:
    """Answered questions and articles like what is being typed (an htmx fragment)."""
    visitor = signed_in(request)
    text = f"{title}\n{body}".strip()[:2000]
    found: list[Any] = []
    articles: list[Any] = []
    if len(text) >= 4:
        services = services_of(request)
        services.limits.assistant(address_of(request), visitor.actor.user_id)
        with reading(request) as session:
            reader = CommunityReader(visitor.actor.organization_id, visitor.actor)
            candidates = [
                p
                for p in session.scalars(community_questions(reader).limit(500))
                if p.status in (QuestionStatus.ANSWERED.value, QuestionStatus.ACCEPTED.value)
            ]
        try:
            model = services.assistant.of(services.db, visitor.actor.organization_id)
        except NotFound:
            model = None
        if model is not None:
            texts = [f"{p.title}\n{p.body}" for p in candidates]
            found = [p for p, _ in closest(model, text, candidates, texts, k=3)]
            articles = article_suggestions(model, text, locale_of(request, visitor))
    return render(request, visitor, "_community_similar.html", questions=found, articles=articles)


@router.post("/community/ask")
def ask(
    request: Request,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    form = {"title": title, "body": body, "tags": tags}
    services = services_of(request)
    try:
        attached = uploads(request, visitor, files)
        with services.db.writer() as session:
            posted = actions.do_ask(
                session,
                visitor.actor,
                actions.CommunityLimits.from_settings(services.settings),
                title=title,
                body=body,
                tags=[t for t in tags.replace("，", ",").split(",") if t.strip()],
                locale=locale_of(request, visitor),
                attachment_ids=attached,
            )
    except Error as exc:
        return render(
            request,
            visitor,
            "community_ask.html",
            status=exc.http_status,
            form=form,
            error=error_text(exc, locale_of(request, visitor)),
        )
    flag = "?secret=1" if posted.secrets else ""
    return RedirectResponse(f"/community/questions/{posted.post.id}{flag}", 303)


@router.get("/community/questions/{question_id}")
def question_page(request: Request, question_id: str, org: str = "", secret: str = "") -> Response:
    with reading(request) as session:
        reader = _reader(session, request, org)
        question = access_post(session, reader, question_id)
        if question.kind != PostKind.QUESTION.value:
            raise NotFound("no such post")
        thread = community_thread(session, reader, question)
        names = _names(session, [question, *thread])
    visitor = current(request)
    locale = locale_of(request, visitor)
    return render(
        request,
        visitor,
        "community_question.html",
        question=question,
        answers=[p for p in thread if p.kind == PostKind.ANSWER.value],
        comments=[p for p in thread if p.kind == PostKind.COMMENT.value],
        names=names,
        staff_view=reader.is_staff,
        can_post=reader.actor is not None,
        can_accept=reader.actor is not None
        and (reader.actor.user_id == question.author_id or reader.is_staff),
        is_open=question.status in {s.value for s in OPEN_STATUSES},
        org_query=_org_query(request),
        warning=translate(locale, SECRET_WARNING) if secret else None,
    )


def _change(request: Request, visitor: Visitor, post_id: str, change: Any) -> Response:
    """Run ``change(session, post)`` on a post of the visitor's community, then go back to
    its question (an error is the error page, in the visitor's language)."""
    services = services_of(request)
    with services.db.writer() as session:
        reader = CommunityReader(visitor.actor.organization_id, visitor.actor)
        post = access_post(session, reader, post_id, lock=True)
        change(session, post)
        question_id = post.question_id
    back = request.query_params.get("back", "")
    if back == "moderation":
        return RedirectResponse("/community/moderation", 303)
    return RedirectResponse(f"/community/questions/{question_id}", 303)


@router.post("/community/questions/{question_id}/answer")
def answer(
    request: Request,
    question_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    body: Annotated[str, Form()] = "",
) -> Response:
    limits = actions.CommunityLimits.from_settings(services_of(request).settings)
    return _change(
        request,
        visitor,
        question_id,
        lambda session, q: actions.do_answer(session, visitor.actor, limits, q, body=body),
    )


@router.post("/community/posts/{post_id}/comment")
def comment(
    request: Request,
    post_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    body: Annotated[str, Form()] = "",
) -> Response:
    limits = actions.CommunityLimits.from_settings(services_of(request).settings)
    return _change(
        request,
        visitor,
        post_id,
        lambda session, post: actions.do_comment(session, visitor.actor, limits, post, body=body),
    )


@router.post("/community/questions/{question_id}/accept")
def accept(
    request: Request,
    question_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    answer_id: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, question: CommunityPost) -> None:
        reader = CommunityReader(visitor.actor.organization_id, visitor.actor)
        if answer_id:
            reply = access_post(session, reader, answer_id, lock=True)
            actions.do_accept(session, visitor.actor, question, reply)
        else:
            actions.do_unaccept(session, visitor.actor, question)

    return _change(request, visitor, question_id, change)


@router.post("/community/posts/{post_id}/vote")
def vote(
    request: Request,
    post_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    value: Annotated[str, Form()] = "",
) -> Response:
    if value not in ("1", "-1", "0"):
        raise InvalidInput("a vote is 1, -1 or 0", field="value")
    return _change(
        request,
        visitor,
        post_id,
        lambda session, post: actions.do_vote(session, visitor.actor, post, int(value)),
    )


@router.post("/community/posts/{post_id}/report")
def report(
    request: Request,
    post_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _change(
        request,
        visitor,
        post_id,
        lambda session, post: actions.do_report(session, visitor.actor, post, reason),
    )


@router.post("/community/posts/{post_id}/moderate")
def moderate(
    request: Request,
    post_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, post: CommunityPost) -> None:
        if action == "approve":
            actions.do_approve(session, visitor.actor, post)
        elif action == "hide":
            actions.do_hide(session, visitor.actor, post, reason)
        elif action == "restore":
            actions.do_restore(session, visitor.actor, post, reason)
        elif action == "dismiss":
            actions.do_dismiss_reports(session, visitor.actor, post)
        elif action == "private":
            actions.do_make_private(session, visitor.actor, post)
        else:
            raise InvalidInput("unknown moderation", field="action")

    return _change(request, visitor, post_id, change)


@router.get("/community/moderation")
def moderation(request: Request) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        held, reports = moderation_queue(session, visitor.actor)
        reported: dict[str, list[str]] = {}
        posts = {p.id: p for p in held}
        for row, post in reports:
            posts.setdefault(post.id, post)
            reported.setdefault(post.id, []).append(row.reason)
        names = _names(session, list(posts.values()))
    return render(
        request,
        visitor,
        "community_moderation.html",
        posts=list(posts.values()),
        reported=reported,
        names=names,
    )
