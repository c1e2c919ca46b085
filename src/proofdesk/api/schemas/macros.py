"""The request and response bodies of ``api/routes/macros.py``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import BilingualText, Request


class MacroIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    title: BilingualText
    actions: list[dict[str, Any]] = Field(
        description="Actions of automation rules, and `{type: reply, body: {en, zh-CN}}` "
        "with `$ticket_number` and `$customer_name` filled in."
    )


class MacroOut(BaseModel):
    id: int
    name: str
    title: dict[str, str]
    actions: list[dict[str, Any]]
