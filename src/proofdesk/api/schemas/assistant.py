"""The request and response bodies of ``api/routes/assistant.py``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Request, UtcTime


class AssistantMessageIn(Request):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    conversation_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    locale: Literal["en", "zh-CN"] | None = None


class AssistantSourceOut(BaseModel):
    slug: str
    locale: str
    title: str


class AssistantReplyOut(BaseModel):
    turn_id: int
    conversation_id: str
    kind: Literal["answer", "handoff"]
    reason: str | None = Field(description="Why a person takes over; null for an answer.")
    intent: str | None
    confidence: float
    text: str = Field(description="What to show the customer, in their language (Markdown).")
    html: str = Field(
        "",
        description="The same text as HTML, rendered and sanitised by the one renderer of "
        "knowledge text (`domain.markdown`): safe to put into a page as it is.",
    )
    sources: list[AssistantSourceOut]
    entities: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    ticket_id: str | None = None
    ticket_number: int | None = None
    locale: str = Field(
        "en", description="The conversation's one language (set by its first turn)."
    )
    needs_contact: bool = Field(
        False,
        description="A visitor without an account must leave an e-mail or a wallet address "
        "before a person takes over (``POST /widget/conversations/{id}/contact``).",
    )


class AssistantFeedbackIn(Request):
    helpful: bool


class KbArticleIn(Request):
    slug: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    locale: Literal["en", "zh-CN"]
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
    intent: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    audience: Literal["public", "agents"] = "public"
    questions: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=100
    )
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20
    )


class KbArticleOut(KbArticleIn):
    version: int
    updated_at: UtcTime
