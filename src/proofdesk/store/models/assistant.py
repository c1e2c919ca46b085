"""The knowledge base and the assistant's turns, examples and vectors (see
:mod:`proofdesk.assistant`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base


class KbArticle(Base):
    """A knowledge-base article or FAQ entry in one language; ``questions`` are the ways
    customers ask it (JSON list), ``intent`` what they want. Every change is a revision."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug", "locale", name="uq_kb_articles_slug_locale"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    questions: Mapped[str] = mapped_column(Text)  # JSON list
    tags: Mapped[str] = mapped_column(Text)  # JSON list
    intent: Mapped[str] = mapped_column(String(64))
    #: ``public`` (the assistant may answer with it) or ``agents`` (agents see it only).
    audience: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    updated_by: Mapped[str | None] = mapped_column(ID)


class KbRevision(Base):
    """One version of an article, as it was."""

    __tablename__ = "kb_revisions"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_kb_revisions_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # JSON of the article's fields
    author: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantTurn(Base):
    """One exchange with the assistant: what the customer wrote (secrets removed), what it
    answered or why it handed off, and the customer's feedback."""

    __tablename__ = "assistant_turns"
    __table_args__ = (Index("ix_assistant_turns_conversation", "conversation_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ID)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ID)
    text: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))  # answer or handoff
    reason: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    article: Mapped[str | None] = mapped_column(String(120))  # slug.locale
    reply: Mapped[str] = mapped_column(Text)
    #: True (helped), False (did not: a hand-off), None (not said).
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    ticket_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantExample(Base):
    """A labelled example the assistant learns from beyond the knowledge base: an agent's label
    on a solved ticket (a tag naming an intent), or an imported one."""

    __tablename__ = "assistant_examples"
    __table_args__ = (
        UniqueConstraint("organization_id", "text", name="uq_assistant_examples_text"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(64))
    #: The solved ticket it came from, or None for an imported example.
    ticket_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantVector(Base):
    """The sentence embedding of a text the organization's model trains on or searches (an
    article, an example), by the text's SHA-256: a rebuilt model encodes only new texts."""

    __tablename__ = "assistant_vectors"
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: float32 little-endian, the model's dimension long.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantModel(Base):
    """An organization's built model (``Model.to_bytes``: numpy arrays and JSON, no pickle),
    with the stamp of the knowledge base and examples it was built from: a starting process
    loads it instead of training, and the rebuild worker replaces it when the stamp moves."""

    __tablename__ = "assistant_models"
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    #: The sentence encoder's name ("none" for n-grams only): another encoder's model is not used.
    encoder: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(400))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime] = mapped_column(TZ)
