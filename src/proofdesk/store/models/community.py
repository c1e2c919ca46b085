"""Community Q&A (``actions.community``): questions, answers and comments in one table of
posts, votes, and reports. The rows are the public text; every change to them is also an event
of the question's stream in the transparency log (ids and digests, never the text)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TIME_TEXT, Base, new_id


class CommunityPost(Base):
    """A question (``kind`` question: ``question_id`` is its own id), an answer, or a comment
    on either (``parent_id``). ``state`` is visible, held (a new account's first posts, until
    staff approve) or hidden (by moderation, with ``hidden_reason``). The question-only
    columns (title, tags, status, …) are empty on answers and comments."""

    __tablename__ = "community_posts"
    __table_args__ = (
        Index("ix_community_posts_question", "question_id", "created_at"),
        Index("ix_community_posts_author", "organization_id", "author_id", "created_at"),
        Index("ix_community_posts_listing", "organization_id", "kind", "state", "created_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    question_id: Mapped[str] = mapped_column(ID)
    parent_id: Mapped[str | None] = mapped_column(ID)
    author_id: Mapped[str] = mapped_column(ID)
    #: The author's role when posting: staff posts carry the staff badge.
    author_role: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of refs
    status: Mapped[str | None] = mapped_column(String(16))  # a question's status
    accepted_answer_id: Mapped[str | None] = mapped_column(ID)
    duplicate_of: Mapped[str | None] = mapped_column(ID)
    #: The private ticket a question became.
    ticket_id: Mapped[str | None] = mapped_column(ID)
    #: The knowledge-base article an answer was promoted to.
    promoted_slug: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[int] = mapped_column(Integer, default=0)
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The wallet that signed the post (EIP-712), if it was signed.
    signed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)
    #: The sequence number of the event that posted it.
    seq: Mapped[int] = mapped_column(Integer)


class CommunityVote(Base):
    """One account's vote on a post: +1 or -1 (a vote taken back is deleted)."""

    __tablename__ = "community_votes"
    __table_args__ = (UniqueConstraint("post_id", "voter_id", name="uq_community_votes_voter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(ID, index=True)
    voter_id: Mapped[str] = mapped_column(ID)
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)


class CommunityReport(Base):
    """Someone reported a post to the moderators; ``resolved_at`` once staff acted on it."""

    __tablename__ = "community_reports"
    __table_args__ = (
        UniqueConstraint("post_id", "reporter_id", name="uq_community_reports_reporter"),
        Index("ix_community_reports_open", "organization_id", "resolved_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    post_id: Mapped[str] = mapped_column(ID)
    reporter_id: Mapped[str] = mapped_column(ID)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    resolved_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    resolved_by: Mapped[str | None] = mapped_column(ID)
