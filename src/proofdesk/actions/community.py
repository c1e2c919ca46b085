"""Community Q&A: asking, answering, commenting, voting, accepting, and moderating.

Every ``do_*`` must run inside ``Database.writer()`` with posts loaded through
``access.access_post`` in that transaction. Each change updates the ``community_*`` rows and
writes one event of the question's own stream through ``EventAppender.append_organization``
(``ticket_id`` is the question's id): a leaf of the transparency log like every ticket event,
carrying ids, roles and a SHA-256 digest of the posted text, never the text
(docs/decisions/0034-community-events.md). The event names are listed in docs/community.md,
so that a reward policy can read them.

Posts get the tickets' rules: secrets are removed from the text before anything is stored (a
signed post with a secret is refused), attachments are uploads checked by
``actions.uploads`` and claimed as a ticket claims them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_manager, require_worker
from proofdesk.actions import signed
from proofdesk.actions.kb import do_save_article
from proofdesk.actions.tickets import (
    NewTicket,
    do_claim_attachments,
    do_create_ticket,
    without_secrets,
)
from proofdesk.assistant import kb
from proofdesk.assistant.training import import_examples
from proofdesk.canonical import format_time, stored_utc, utc_now
from proofdesk.domain import identifiers
from proofdesk.domain.community import (
    OPEN_STATUSES,
    PostKind,
    PostState,
    QuestionStatus,
    question_status,
    text_digest,
)
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Event, EventType, Kind, TicketState
from proofdesk.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, RateLimited
from proofdesk.i18n import LOCALES, N_, translate
from proofdesk.identity.typed import SignatureClaim
from proofdesk.settings import Settings
from proofdesk.store.events import EventAppender
from proofdesk.store.models import CommunityPost, CommunityReport, CommunityVote, User, new_id

MAX_TITLE = 300
MIN_TITLE = 5
MAX_BODY = 20_000
MAX_REASON = 500
MAX_TAGS = 5

#: What a question that became a private ticket shows in public instead of its text.
PRIVATE_TITLE = N_("Moved to a private request")
PRIVATE_NOTE = N_(
    "This question was about the asker's own account, so our support team moved it to a "
    "private request. It is being handled there."
)
#: The line that credits an answer's author in the article it became.
CREDIT = N_("Answered in the community by {name}.")
#: Why the answers of a question that became private are hidden.
PRIVATE_REASON = "moved to a private request"


@dataclass(frozen=True, slots=True)
class CommunityLimits:
    """Per-user posting limits and the hold on new accounts (``settings.community_*``)."""

    posts_per_hour: int = 20
    hold_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> CommunityLimits:
        return cls(settings.community_posts_per_hour, settings.community_hold_days)


@dataclass(slots=True)
class Posted:
    """A new post and the kinds of secret removed from it (empty when none)."""

    post: CommunityPost
    secrets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Promotion:
    """What staff give when an accepted answer becomes a knowledge-base article: its slug and
    intent, and the article in the other language (title, body, the ways people ask it).
    Without ``publish`` both versions are drafts (audience ``agents``: agents see them,
    customers and the assistant's answers do not)."""

    slug: str
    intent: str
    other_title: str
    other_body: str
    other_questions: list[str] = field(default_factory=list)
    publish: bool = False


# -- checks ----------------------------------------------------------------------------------


def _text(value: str, name: str, low: int, high: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) < low or len(text) > high:
        raise InvalidInput(f"{name} must be {low}-{high} characters", field=name)
    return text


def _require_poster(actor: Actor) -> None:
    """Customers and the staff who work tickets post; auditors only read."""
    if actor.role not in (Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(f"a {actor.role.value} cannot post in the community")


def _check_rate(session: Session, actor: Actor, limits: CommunityLimits) -> None:
    """A customer posts at most ``posts_per_hour`` questions, answers and comments an hour."""
    if not actor.is_customer:
        return
    since = format_time(utc_now() - timedelta(hours=1))
    count = session.scalar(
        select(func.count(CommunityPost.id)).where(
            CommunityPost.organization_id == actor.organization_id,
            CommunityPost.author_id == actor.user_id,
            CommunityPost.created_at >= since,
        )
    )
    if (count or 0) >= limits.posts_per_hour:
        raise RateLimited(
            f"at most {limits.posts_per_hour} posts an hour; try again later",
            code="posting_limit",
            retry_after=3600,
        )


def _initial_state(session: Session, actor: Actor, limits: CommunityLimits) -> PostState:
    """Held for review: a customer whose account is younger than ``hold_days`` and who has
    no visible post yet (a moderator's approval of one makes the next ones visible)."""
    if not actor.is_customer or limits.hold_days == 0:
        return PostState.VISIBLE
    user = session.get(User, actor.user_id)
    if user is None:
        return PostState.HELD
    if stored_utc(user.created_at) <= utc_now() - timedelta(days=limits.hold_days):
        return PostState.VISIBLE
    trusted = session.scalar(
        select(CommunityPost.id)
        .where(
            CommunityPost.organization_id == actor.organization_id,
            CommunityPost.author_id == actor.user_id,
            CommunityPost.state == PostState.VISIBLE.value,
        )
        .limit(1)
    )
    return PostState.VISIBLE if trusted is not None else PostState.HELD


def _question_of(session: Session, post: CommunityPost) -> CommunityPost:
    if post.kind == PostKind.QUESTION.value:
        return post
    question = session.get(CommunityPost, post.question_id)
    if question is None:
        raise InvalidInput("the post's question is missing", code="no_such_post")
    return question


def _require_open(question: CommunityPost) -> None:
    if question.status not in OPEN_STATUSES:
        raise InvalidTransition(
            f"a {question.status} question takes no more answers, votes or acceptances",
            code="question_closed",
            status=question.status,
        )


def _log(
    session: Session,
    actor: Actor,
    question_id: str,
    type: EventType,
    payload: dict[str, Any],
) -> Event:
    """One event of the question's stream, in the log."""
    return EventAppender(session).append_organization(
        organization_id=actor.organization_id,
        type=type,
        actor_id=actor.user_id,
        occurred_at=format_time(utc_now()),
        payload=payload,
        stream=question_id,
    )


def _refresh(session: Session, question: CommunityPost) -> None:
    """Recount the question's visible answers and recompute its status."""
    session.flush()
    question.answer_count = (
        session.scalar(
            select(func.count(CommunityPost.id)).where(
                CommunityPost.question_id == question.id,
                CommunityPost.kind == PostKind.ANSWER.value,
                CommunityPost.state == PostState.VISIBLE.value,
            )
        )
        or 0
    )
    if question.status in OPEN_STATUSES:
        question.status = question_status(
            accepted=question.accepted_answer_id is not None,
            visible_answers=question.answer_count,
        ).value
    question.updated_at = format_time(utc_now())


def _new_post(
    session: Session,
    actor: Actor,
    limits: CommunityLimits,
    *,
    kind: PostKind,
    question_id: str,
    parent_id: str | None,
    locale: str,
    title: str | None,
    body: str,
    attachment_ids: list[str],
    signature: SignatureClaim | None,
    tags: list[str] | None = None,
) -> Posted:
    _require_poster(actor)
    _check_rate(session, actor, limits)
    if title is not None:
        title, body, kinds = without_secrets(
            _text(title, "title", MIN_TITLE, MAX_TITLE),
            _text(body, "body", 1, MAX_BODY),
            signed=signature is not None,
        )
    else:
        body, kinds = without_secrets(
            _text(body, "body", 1, MAX_BODY), signed=signature is not None
        )
    tag_list = sorted({identifiers.tag(t) for t in tags or []})
    if len(tag_list) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags")
    post_id = new_id() if kind is not PostKind.QUESTION else question_id
    state = _initial_state(session, actor, limits)
    refs = do_claim_attachments(session, actor, question_id, attachment_ids)
    record = None
    if signature is not None:
        action = {
            PostKind.QUESTION: "community.ask",
            PostKind.ANSWER: "community.answer",
            PostKind.COMMENT: "community.comment",
        }[kind]
        content = {"title": title, "body": body} if title is not None else {"body": body}
        target = "" if kind is PostKind.QUESTION else question_id
        record = signed.do_accept_signed(session, actor, signature, action, target, content)
    type = {
        PostKind.QUESTION: EventType.QUESTION_ASKED,
        PostKind.ANSWER: EventType.ANSWER_POSTED,
        PostKind.COMMENT: EventType.COMMENT_POSTED,
    }[kind]
    payload: dict[str, Any] = {
        "post_id": post_id,
        "question_id": question_id,
        "author_id": actor.user_id,
        "author_role": actor.role.value,
        "state": state.value,
        "digest": text_digest(title, body) if title is not None else text_digest(body),
        "attachments": [ref["sha256"] for ref in refs],
    }
    if parent_id is not None:
        payload["parent_id"] = parent_id
    if tag_list:
        payload["tags"] = tag_list
    if record is not None:
        payload["signature"] = record
    event = _log(session, actor, question_id, type, payload)
    now = event.occurred_at
    post = CommunityPost(
        id=post_id,
        organization_id=actor.organization_id,
        kind=kind.value,
        question_id=question_id,
        parent_id=parent_id,
        author_id=actor.user_id,
        author_role=actor.role.value,
        locale=locale,
        title=title,
        body=body,
        tags=json.dumps(tag_list),
        attachments=json.dumps(refs, sort_keys=True),
        status=QuestionStatus.OPEN.value if kind is PostKind.QUESTION else None,
        state=state.value,
        score=0,
        answer_count=0,
        signed_by=record["signer"] if record else None,
        created_at=now,
        updated_at=now,
        seq=event.seq,
    )
    session.add(post)
    session.flush()
    return Posted(post, list(kinds))


# -- posting ---------------------------------------------------------------------------------


def do_ask(
    session: Session,
    actor: Actor,
    limits: CommunityLimits,
    *,
    title: str,
    body: str,
    tags: list[str] | None = None,
    locale: str | None = None,
    attachment_ids: list[str] | None = None,
    signature: SignatureClaim | None = None,
) -> Posted:
    """Ask a question in the actor's organization's community."""
    if locale is None:
        user = session.get(User, actor.user_id)
        locale = user.locale if user is not None else "en"
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {list(LOCALES)}", field="locale")
    return _new_post(
        session,
        actor,
        limits,
        kind=PostKind.QUESTION,
        question_id=new_id(),
        parent_id=None,
        locale=locale,
        title=title,
        body=body,
        tags=tags,
        attachment_ids=attachment_ids or [],
        signature=signature,
    )


def do_answer(
    session: Session,
    actor: Actor,
    limits: CommunityLimits,
    question: CommunityPost,
    *,
    body: str,
    attachment_ids: list[str] | None = None,
    signature: SignatureClaim | None = None,
) -> Posted:
    """Answer a visible, open question."""
    if question.kind != PostKind.QUESTION.value:
        raise InvalidInput("answers go on questions", code="not_a_question")
    if question.state != PostState.VISIBLE.value:
        raise InvalidTransition("this question is not published", code="question_not_visible")
    _require_open(question)
    posted = _new_post(
        session,
        actor,
        limits,
        kind=PostKind.ANSWER,
        question_id=question.id,
        parent_id=None,
        locale=question.locale,
        title=None,
        body=body,
        attachment_ids=attachment_ids or [],
        signature=signature,
    )
    _refresh(session, question)
    return posted


def do_comment(
    session: Session,
    actor: Actor,
    limits: CommunityLimits,
    parent: CommunityPost,
    *,
    body: str,
    signature: SignatureClaim | None = None,
) -> Posted:
    """Comment on a visible question or answer (not on a comment)."""
    if parent.kind == PostKind.COMMENT.value:
        raise InvalidInput("comment on the question or an answer", code="not_commentable")
    if parent.state != PostState.VISIBLE.value:
        raise InvalidTransition("this post is not published", code="post_not_visible")
    question = _question_of(session, parent)
    if question.status == QuestionStatus.PRIVATE.value:
        raise InvalidTransition("this question became a private request", code="question_closed")
    return _new_post(
        session,
        actor,
        limits,
        kind=PostKind.COMMENT,
        question_id=question.id,
        parent_id=parent.id,
        locale=question.locale,
        title=None,
        body=body,
        attachment_ids=[],
        signature=signature,
    )


def do_vote(session: Session, actor: Actor, post: CommunityPost, value: int) -> CommunityPost:
    """Vote a visible question or answer up (1) or down (-1), or take the vote back (0). One
    vote per account and post; nobody votes on their own post."""
    _require_poster(actor)
    if value not in (-1, 0, 1):
        raise InvalidInput("a vote is 1, -1 or 0", field="value")
    if post.kind == PostKind.COMMENT.value:
        raise InvalidInput("comments take no votes", code="not_votable")
    if post.state != PostState.VISIBLE.value:
        raise InvalidTransition("this post is not published", code="post_not_visible")
    if post.author_id == actor.user_id:
        raise Forbidden("you cannot vote on your own post", code="own_post")
    _require_open(_question_of(session, post))
    row = session.scalars(
        select(CommunityVote).where(
            CommunityVote.post_id == post.id, CommunityVote.voter_id == actor.user_id
        )
    ).first()
    previous = row.value if row is not None else 0
    if previous == value:
        return post
    now = format_time(utc_now())
    if row is None:
        session.add(
            CommunityVote(post_id=post.id, voter_id=actor.user_id, value=value, created_at=now)
        )
    elif value == 0:
        session.delete(row)
    else:
        row.value, row.created_at = value, now
    post.score += value - previous
    _log(
        session,
        actor,
        post.question_id,
        EventType.VOTE_CAST,
        {"post_id": post.id, "author_id": post.author_id, "value": value, "previous": previous},
    )
    return post


def _may_accept(actor: Actor, question: CommunityPost) -> None:
    if actor.user_id != question.author_id:
        require_worker(actor)


def do_accept(
    session: Session, actor: Actor, question: CommunityPost, answer: CommunityPost
) -> CommunityPost:
    """The asker (or staff) accepts one visible answer; accepting another replaces it."""
    _may_accept(actor, question)
    _require_open(question)
    if (
        answer.kind != PostKind.ANSWER.value
        or answer.question_id != question.id
        or answer.state != PostState.VISIBLE.value
    ):
        raise InvalidInput("accept a published answer of this question", code="not_an_answer")
    if question.accepted_answer_id == answer.id:
        return question
    if question.accepted_answer_id is not None:
        _unaccept(session, actor, question, "replaced")
    question.accepted_answer_id = answer.id
    _log(
        session,
        actor,
        question.id,
        EventType.ANSWER_ACCEPTED,
        {"post_id": answer.id, "author_id": answer.author_id, "asker_id": question.author_id},
    )
    _refresh(session, question)
    return question


def _unaccept(session: Session, actor: Actor, question: CommunityPost, why: str) -> None:
    answer = session.get(CommunityPost, question.accepted_answer_id)
    _log(
        session,
        actor,
        question.id,
        EventType.ANSWER_UNACCEPTED,
        {
            "post_id": question.accepted_answer_id,
            "author_id": answer.author_id if answer is not None else None,
            "why": why,
        },
    )
    question.accepted_answer_id = None


def do_unaccept(session: Session, actor: Actor, question: CommunityPost) -> CommunityPost:
    """Take an acceptance back (the asker or staff)."""
    _may_accept(actor, question)
    _require_open(question)
    if question.accepted_answer_id is None:
        raise InvalidTransition("no answer is accepted", code="nothing_accepted")
    _unaccept(session, actor, question, "taken back")
    _refresh(session, question)
    return question


def do_close_duplicate(
    session: Session, actor: Actor, question: CommunityPost, original: CommunityPost
) -> CommunityPost:
    """Staff close a question as a duplicate of another published one."""
    require_worker(actor)
    _require_open(question)
    if (
        original.kind != PostKind.QUESTION.value
        or original.id == question.id
        or original.state != PostState.VISIBLE.value
        or original.status == QuestionStatus.PRIVATE.value
    ):
        raise InvalidInput("the original must be another published question", field="original_id")
    question.status = QuestionStatus.DUPLICATE.value
    question.duplicate_of = original.id
    question.updated_at = format_time(utc_now())
    _log(session, actor, question.id, EventType.QUESTION_CLOSED, {"duplicate_of": original.id})
    return question


# -- moderation ------------------------------------------------------------------------------


def do_report(session: Session, actor: Actor, post: CommunityPost, reason: str) -> CommunityReport:
    """Report a post to the moderators, once per account and post."""
    _require_poster(actor)
    text = without_secrets(_text(reason, "reason", 1, MAX_REASON), signed=False)[0]
    taken = session.scalar(
        select(CommunityReport.id).where(
            CommunityReport.post_id == post.id, CommunityReport.reporter_id == actor.user_id
        )
    )
    if taken is not None:
        raise Conflict("you reported this post already", code="already_reported")
    report = CommunityReport(
        id=new_id(),
        organization_id=actor.organization_id,
        post_id=post.id,
        reporter_id=actor.user_id,
        reason=text,
        created_at=format_time(utc_now()),
    )
    session.add(report)
    _log(
        session,
        actor,
        post.question_id,
        EventType.POST_REPORTED,
        {"post_id": post.id, "report_id": report.id},
    )
    return report


def _resolve_reports(session: Session, actor: Actor, post: CommunityPost) -> None:
    session.execute(
        update(CommunityReport)
        .where(CommunityReport.post_id == post.id, CommunityReport.resolved_at.is_(None))
        .values(resolved_at=format_time(utc_now()), resolved_by=actor.user_id)
    )


def _reason(reason: str) -> str:
    text: str = without_secrets(_text(reason, "reason", 1, MAX_REASON), signed=False)[0]
    return text


def do_approve(session: Session, actor: Actor, post: CommunityPost) -> CommunityPost:
    """A moderator publishes a held post (its author's next posts are no longer held)."""
    require_worker(actor)
    if post.state != PostState.HELD.value:
        raise InvalidTransition("only a held post is approved", code="not_held")
    post.state = PostState.VISIBLE.value
    post.updated_at = format_time(utc_now())
    _log(
        session,
        actor,
        post.question_id,
        EventType.POST_APPROVED,
        {"post_id": post.id, "author_id": post.author_id},
    )
    _refresh(session, _question_of(session, post))
    return post


def do_hide(session: Session, actor: Actor, post: CommunityPost, reason: str) -> CommunityPost:
    """A moderator hides a post (a held one too: rejected) with a reason, which is logged;
    an accepted answer that is hidden is no longer accepted."""
    require_worker(actor)
    if post.state == PostState.HIDDEN.value:
        raise InvalidTransition("this post is hidden already", code="already_hidden")
    text = _reason(reason)
    post.state = PostState.HIDDEN.value
    post.hidden_reason = text
    post.updated_at = format_time(utc_now())
    question = _question_of(session, post)
    _log(
        session,
        actor,
        post.question_id,
        EventType.POST_HIDDEN,
        {"post_id": post.id, "author_id": post.author_id, "reason": text},
    )
    if question.accepted_answer_id == post.id:
        _unaccept(session, actor, question, "hidden")
    _resolve_reports(session, actor, post)
    _refresh(session, question)
    return post


def do_restore(session: Session, actor: Actor, post: CommunityPost, reason: str) -> CommunityPost:
    """A moderator shows a hidden post again, with a reason (logged)."""
    require_worker(actor)
    if post.state != PostState.HIDDEN.value:
        raise InvalidTransition("only a hidden post is restored", code="not_hidden")
    question = _question_of(session, post)
    if question.status == QuestionStatus.PRIVATE.value:
        raise InvalidTransition("this question became a private request", code="question_closed")
    text = _reason(reason)
    post.state = PostState.VISIBLE.value
    post.hidden_reason = None
    post.updated_at = format_time(utc_now())
    _log(
        session,
        actor,
        post.question_id,
        EventType.POST_RESTORED,
        {"post_id": post.id, "author_id": post.author_id, "reason": text},
    )
    _resolve_reports(session, actor, post)
    _refresh(session, question)
    return post


def do_dismiss_reports(session: Session, actor: Actor, post: CommunityPost) -> None:
    """A moderator looked at a reported post and leaves it as it is."""
    require_worker(actor)
    _resolve_reports(session, actor, post)


# -- into the knowledge base, into a ticket --------------------------------------------------


def do_promote_to_kb(
    session: Session, actor: Actor, answer: CommunityPost, spec: Promotion
) -> list[kb.ArticleSpec]:
    """Staff (supervisors, admins: the knowledge base's writers) turn an accepted answer into
    an article in both languages, through ``actions.kb``: the question's language from the
    question and the answer, the other from ``spec``; both end with a line crediting the
    answer's author. The question becomes one of the ways the intent is asked, so the
    assistant learns it (``assistant.training``)."""
    require_manager(actor)
    question = _question_of(session, answer)
    if question.accepted_answer_id != answer.id:
        raise InvalidTransition("only the accepted answer is promoted", code="not_accepted")
    author = session.get(User, answer.author_id)
    name = author.display_name if author is not None else "?"
    audience = "public" if spec.publish else "agents"
    other = next(locale for locale in LOCALES if locale != question.locale)
    credit = {locale: translate(locale, CREDIT, name=name) for locale in LOCALES}
    other_title, other_body, _ = without_secrets(
        _text(spec.other_title, "other_title", 1, MAX_TITLE),
        _text(spec.other_body, "other_body", 1, MAX_BODY),
        signed=False,
    )
    articles = [
        kb.ArticleSpec(
            slug=spec.slug,
            locale=question.locale,
            title=question.title or "",
            body=f"{answer.body}\n\n*{credit[question.locale]}*",
            intent=spec.intent,
            audience=audience,
            questions=[question.title or ""],
            tags=json.loads(question.tags),
        ),
        kb.ArticleSpec(
            slug=spec.slug,
            locale=other,
            title=other_title,
            body=f"{other_body}\n\n*{credit[other]}*",
            intent=spec.intent,
            audience=audience,
            questions=[q.strip() for q in spec.other_questions if q.strip()] or [other_title],
            tags=json.loads(question.tags),
        ),
    ]
    for article in articles:
        article.check()
    for article in articles:
        do_save_article(session, actor, actor.organization_id, article)
    import_examples(
        session, actor.organization_id, [(f"{question.title}\n{question.body}", spec.intent)]
    )
    answer.promoted_slug = spec.slug
    answer.updated_at = format_time(utc_now())
    _log(
        session,
        actor,
        question.id,
        EventType.ANSWER_PROMOTED,
        {
            "post_id": answer.id,
            "author_id": answer.author_id,
            "slug": spec.slug,
            "locales": sorted(LOCALES),
            "published": spec.publish,
        },
    )
    return articles


def do_make_private(session: Session, actor: Actor, question: CommunityPost) -> TicketState:
    """Staff turn a question that is really its author's own problem into a private ticket of
    the author (through ``actions.tickets``), with the question's text; the public post keeps
    a neutral note in the question's language, and its answers and comments are hidden."""
    require_worker(actor)
    if question.kind != PostKind.QUESTION.value:
        raise InvalidInput("only a question becomes a private request", code="not_a_question")
    if question.status == QuestionStatus.PRIVATE.value:
        raise InvalidTransition(
            "this question is a private request already", code="already_private"
        )
    state = do_create_ticket(
        session,
        actor,
        NewTicket(
            kind=Kind.QUESTION,
            subject=question.title or "",
            body=question.body,
            requester_id=question.author_id,
        ),
    )
    question.title = translate(question.locale, PRIVATE_TITLE)
    question.body = translate(question.locale, PRIVATE_NOTE)
    question.status = QuestionStatus.PRIVATE.value
    question.ticket_id = state.id
    question.accepted_answer_id = None
    question.attachments = "[]"
    question.updated_at = format_time(utc_now())
    _log(
        session,
        actor,
        question.id,
        EventType.QUESTION_MADE_PRIVATE,
        {"author_id": question.author_id, "ticket_id": state.id},
    )
    replies = session.scalars(
        select(CommunityPost).where(
            CommunityPost.question_id == question.id,
            CommunityPost.id != question.id,
            CommunityPost.state != PostState.HIDDEN.value,
        )
    ).all()
    for reply in replies:
        do_hide(session, actor, reply, PRIVATE_REASON)
    return state
