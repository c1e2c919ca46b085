"""The request and response bodies of ``api/routes/guests.py``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from proofdesk.api.schemas.common import Request

Slug = Annotated[str, StringConstraints(min_length=1, max_length=63)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class GuestMessageIn(Request):
    organization: Slug
    text: Text
    conversation_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    locale: Literal["en", "zh-CN"] | None = None


class GuestFeedbackIn(Request):
    organization: Slug
    conversation_id: Annotated[str, StringConstraints(max_length=36)]
    helpful: bool


class GuestContactIn(Request):
    organization: Slug
    contact: Annotated[str, StringConstraints(min_length=1, max_length=254)]


class GuestReplyIn(Request):
    organization: Slug
    text: Text


class GuestMessageOut(BaseModel):
    id: str
    body: str
    mine: bool
    automatic: bool
    created_at: str
    author: str | None = None
