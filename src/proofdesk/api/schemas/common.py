"""Request and response bodies. Requests forbid unknown fields: a typo is an error, not a
silently ignored setting.

What more than one route module uses lives here; the rest is beside its routes, one
module each (``schemas.tickets`` for ``routes.tickets``, …)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from eth_utils.address import to_checksum_address
from pydantic import BaseModel, Field, PlainSerializer, StringConstraints

from proofdesk.actions.inputs import StrictInput
from proofdesk.canonical import format_time, stored_utc
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, Kind, Priority, Status, TicketState
from proofdesk.store.models import (
    Order,
    User,
    Wallet,
)

#: Every time in a response: RFC 3339 in UTC with its zone (``2026-12-01T08:00:00.000000Z``),
#: the form ticket times and the log use. SQLite hands timezone-aware columns back naive; this is
#: the one place that says they were UTC.
UtcTime = Annotated[
    datetime,
    PlainSerializer(lambda m: format_time(stored_utc(m)), return_type=str, when_used="json"),
]

T = TypeVar("T")

#: Every request body forbids unknown fields and NUL characters (``actions.inputs``).
Request = StrictInput
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# strict: JSON `true` or "1" is not a chain id (lax mode would record chain 1).
ChainId = Annotated[int, Field(ge=1, le=2**53 - 1, strict=True)]


class UserOut(BaseModel):
    id: str
    organization_id: str
    role: Role
    email: str | None
    display_name: str
    locale: str
    tier: str | None
    is_active: bool
    created_at: UtcTime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user, from_attributes=True)


class WalletOut(BaseModel):
    id: str
    namespace: str
    address: str
    label: str | None
    created_at: UtcTime
    #: When the customer proved control by a signature (payouts go to such wallets only).
    verified_at: UtcTime | None = None

    @classmethod
    def of(cls, wallet: Wallet) -> WalletOut:
        out = cls.model_validate(wallet, from_attributes=True)
        # Stored in lower case (the form compared); shown with its EIP-55 checksum.
        return out.model_copy(update={"address": to_checksum_address(wallet.address)})


class OrderOut(BaseModel):
    id: str
    external_id: str
    amount: str
    currency: str
    status: str
    description: str | None
    created_at: UtcTime
    kind: str = "purchase"
    paid_at: UtcTime | None = None
    delivered_at: UtcTime | None = None
    chain_id: int | None = None
    tx_hash: str | None = None
    updated_at: UtcTime | None = None
    source: str = Field(
        default="staff", description="staff (typed in), api or webhook (synced by the shop)."
    )

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls.model_validate(order, from_attributes=True)


class TicketOut(BaseModel):
    id: str
    number: int
    kind: Kind
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    requester_id: str
    category: str | None
    tags: list[str]
    team_id: str | None
    assignee_id: str | None
    order_id: str | None
    wallet_address: str | None
    chain_id: int | None
    tx_hash: str | None
    network: str | None
    merged_into_id: str | None
    merged_from_ids: list[str]
    created_at: str
    updated_at: str
    first_response_at: str | None
    solved_at: str | None
    closed_at: str | None
    message_count: int
    rating: int | None = Field(default=None, description="The requester's rating, 1-5.")
    rated_at: str | None = None

    @classmethod
    def of(cls, state: TicketState) -> TicketOut:
        return cls.model_validate(state, from_attributes=True)


class AttachmentRef(BaseModel):
    id: str
    sha256: str
    size: int
    content_type: str
    filename: str


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class BilingualText(Request):
    en: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    zh_CN: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(alias="zh-CN")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable, e.g. `not_found`, `missing_scope`.")
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    """The one shape of every error the API answers (``api/errors.py``)."""

    error: ErrorDetail


_ERRORS = (
    (400, "Bad request"),
    (401, "No or bad credentials"),
    (403, "Not allowed for this role, scope or organization"),
    (404, "No such resource (or not visible to the caller)"),
    (409, "Conflicts with the resource's state"),
    (413, "Body too large"),
    (415, "Unsupported media type"),
    (422, "Invalid input"),
    (429, "Rate limited; see Retry-After"),
)
#: The errors any operation may answer, described once for all of them: authentication,
#: authorization (role, scope, tenant), absence, conflicts, limits, and invalid input.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description} for status, description in _ERRORS
}
#: The same for an operation whose success is not JSON (a signed note, a CSV, a file): FastAPI
#: would document its errors in the success's media type, so they name theirs.
NON_JSON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for status, description in _ERRORS
}
