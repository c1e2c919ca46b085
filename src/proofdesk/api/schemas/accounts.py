"""The request and response bodies of ``api/routes/accounts.py``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Id, OrderOut, Request, UserOut, WalletOut
from proofdesk.domain.roles import Role
from proofdesk.store.models import (
    Team,
)


class UserIn(Request):
    role: Role = Role.CUSTOMER
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    password: Annotated[str, StringConstraints(min_length=10, max_length=1024)] | None = None
    locale: str = "en"
    tier: Annotated[str, StringConstraints(max_length=32)] | None = None


class UserPatch(Request):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    agent_alias: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        default=None,
        description="Staff: the name customers see on their replies (empty: the first name).",
    )
    locale: str | None = None
    tier: Annotated[str, StringConstraints(max_length=32)] | None = None
    is_active: bool | None = None
    role: Literal["agent", "supervisor", "auditor", "admin"] | None = Field(
        default=None,
        description="Admins only, for staff: their sessions end; tokens keep what the role allows.",
    )


class WalletIn(Request):
    address: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    label: Annotated[str, StringConstraints(max_length=100)] | None = None


class OrderIn(Request):
    external_id: Id
    amount: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description='Decimal string, e.g. "129.99"; never a float.'
    )
    currency: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "paid"
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class CustomerProfileOut(UserOut):
    wallets: list[WalletOut]
    orders: list[OrderOut]


class TeamIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class TeamOut(BaseModel):
    id: str
    name: str
    member_ids: list[str]

    @classmethod
    def of(cls, team: Team, member_ids: list[str]) -> TeamOut:
        return cls(id=team.id, name=team.name, member_ids=sorted(member_ids))


class MfaPolicyIn(Request):
    require_for_agents: bool
