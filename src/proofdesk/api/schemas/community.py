"""The request and response bodies of ``api/routes/community.py``."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Id, Request, Tag
from proofdesk.api.schemas.tickets import SignatureIn
from proofdesk.domain.roles import STAFF, Role
from proofdesk.store.models import CommunityPost

Body = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class QuestionIn(Request):
    title: Annotated[str, StringConstraints(min_length=5, max_length=300)]
    body: Body
    tags: list[Tag] = Field(default_factory=list, max_length=5)
    locale: Literal["en", "zh-CN"] | None = Field(
        default=None, description="The question's language; the asker's by default."
    )
    attachment_ids: list[Id] = Field(default_factory=list, max_length=10)
    signed: SignatureIn | None = Field(
        default=None, description="The asker's EIP-712 signature (action community.ask)."
    )


class AnswerIn(Request):
    body: Body
    attachment_ids: list[Id] = Field(default_factory=list, max_length=10)
    signed: SignatureIn | None = Field(
        default=None, description="The author's EIP-712 signature (action community.answer)."
    )


class CommentIn(Request):
    body: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    signed: SignatureIn | None = None


class VoteIn(Request):
    value: Literal[-1, 0, 1] = Field(description="1 up, -1 down, 0 takes the vote back.")


class AcceptIn(Request):
    answer_id: Id


class DuplicateIn(Request):
    original_id: Id


class ReportIn(Request):
    reason: Reason


class ModerationIn(Request):
    action: Literal["approve", "hide", "restore", "dismiss"]
    reason: Reason | None = Field(default=None, description="Required to hide and to restore.")


class PromotionIn(Request):
    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
    intent: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    other_title: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="The article's title in the other language."
    )
    other_body: Body = Field(description="The answer in the other language.")
    other_questions: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=20
    )
    publish: bool = Field(
        default=False, description="Publish at once; otherwise both are drafts for agents."
    )


class AuthorOut(BaseModel):
    id: str
    display_name: str
    #: Staff answer with a badge.
    staff: bool


class PostOut(BaseModel):
    id: str
    kind: str
    question_id: str
    parent_id: str | None
    author: AuthorOut
    locale: str
    title: str | None
    body: str
    tags: list[str]
    attachments: list[dict[str, Any]]
    status: str | None
    accepted_answer_id: str | None
    duplicate_of: str | None
    ticket_id: str | None = Field(description="The private request it became (staff only).")
    promoted_slug: str | None
    state: str
    hidden_reason: str | None
    score: int
    answer_count: int
    signed_by: str | None
    created_at: str
    updated_at: str
    seq: int = Field(description="The log entry that posted it.")

    @classmethod
    def of(cls, post: CommunityPost, names: dict[str, str], *, staff: bool = False) -> PostOut:
        return cls(
            id=post.id,
            kind=post.kind,
            question_id=post.question_id,
            parent_id=post.parent_id,
            author=AuthorOut(
                id=post.author_id,
                display_name=names.get(post.author_id, ""),
                staff=Role(post.author_role) in STAFF,
            ),
            locale=post.locale,
            title=post.title,
            body=post.body,
            tags=json.loads(post.tags),
            attachments=json.loads(post.attachments),
            status=post.status,
            accepted_answer_id=post.accepted_answer_id,
            duplicate_of=post.duplicate_of,
            ticket_id=post.ticket_id if staff else None,
            promoted_slug=post.promoted_slug,
            state=post.state,
            hidden_reason=post.hidden_reason,
            score=post.score,
            answer_count=post.answer_count,
            signed_by=post.signed_by,
            created_at=post.created_at,
            updated_at=post.updated_at,
            seq=post.seq,
        )


class PostedOut(PostOut):
    #: The kinds of secret removed before the post was stored, and what to do about them.
    secrets_removed: list[str] = Field(default_factory=list)
    warning: str | None = None


class ThreadOut(BaseModel):
    question: PostOut
    answers: list[PostOut]
    comments: list[PostOut]


class QuestionPage(BaseModel):
    items: list[PostOut]
    next_before: str | None = Field(description="Pass as `before` for the next page.")


class SimilarOut(BaseModel):
    questions: list[PostOut]
    articles: list[dict[str, str]]


class ReportOut(BaseModel):
    id: str
    post_id: str
    reason: str
    created_at: str


class QueueItem(BaseModel):
    post: PostOut
    reports: list[ReportOut]


class PrivateOut(BaseModel):
    question: PostOut
    ticket_id: str
