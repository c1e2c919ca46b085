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
        "with `{{customer.name}}`, `{{ticket.number}}`, `{{agent.name}}`… filled in."
    )
    team_id: Annotated[str | None, StringConstraints(max_length=36)] = Field(
        default=None, description="Share with this team only (supervisors and admins)."
    )
    personal: bool = Field(default=False, description="Keep it to yourself (any agent).")


class MacroOut(BaseModel):
    id: int
    name: str
    title: dict[str, str]
    actions: list[dict[str, Any]]
    team_id: str | None = None
    personal: bool = False
