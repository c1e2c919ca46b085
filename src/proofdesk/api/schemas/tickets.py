"""The request and response bodies of ``api/routes/tickets.py``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import AttachmentRef, ChainId, Id, Request, ShortText, Tag
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, Kind, Priority, Status, Visibility
from proofdesk.store.models import (
    Message,
)

NetworkKey = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class SignatureIn(Request):
    """An EIP-712 signature of this submission by one of the customer's wallets
    (docs/identity.md): the server rebuilds the typed data from the request and checks it."""

    signer: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
    signature: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")]
    nonce: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,78}$")] = Field(
        description="A random uint256, as decimal text; never used twice by one signer."
    )
    issued_at: int = Field(ge=0, le=2**63, description="Unix seconds when it was signed.")
    request_id: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="For a new ticket: an id the client chose (else empty)."
    )


class TicketIn(Request):
    kind: Kind
    subject: ShortText
    body: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]
    channel: Channel = Channel.WEB
    priority: Priority | None = None
    category: Annotated[str, StringConstraints(max_length=100)] | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    team_id: Id | None = None
    assignee_id: Id | None = None
    requester_id: Id | None = None
    order_id: Id | None = None
    wallet_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    chain_id: ChainId | None = None
    tx_hash: Annotated[str, StringConstraints(max_length=88)] | None = None
    network: NetworkKey | None = Field(
        default=None,
        description="The network of the wallet and the transaction (GET /api/v1/networks); "
        "its rules check them. Left out: an EVM chain, by chain_id.",
    )
    attachment_ids: list[Id] = Field(default_factory=list, max_length=20)
    signed: SignatureIn | None = Field(
        default=None, description="The customer's EIP-712 signature of kind, subject and body."
    )


class TicketPatch(Request):
    """Fields to change; a field left out is unchanged, ``null`` clears it."""

    subject: ShortText | None = None
    kind: Kind | None = None
    priority: Priority | None = None
    category: Annotated[str, StringConstraints(max_length=100)] | None = None
    order_id: Id | None = None
    wallet_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    chain_id: ChainId | None = None
    tx_hash: Annotated[str, StringConstraints(max_length=88)] | None = None
    network: NetworkKey | None = Field(
        default=None,
        description="The network of the wallet and the transaction (GET /api/v1/networks); "
        "its rules check them. Left out: an EVM chain, by chain_id.",
    )


class StatusIn(Request):
    status: Status


class AssignmentIn(Request):
    assignee_id: Id | None = None
    team_id: Id | None = None


class TagsIn(Request):
    add: list[Tag] = Field(default_factory=list, max_length=20)
    remove: list[Tag] = Field(default_factory=list, max_length=20)


class RatingIn(Request):
    score: int = Field(ge=1, le=5, strict=True, description="1 (very unhappy) to 5 (very happy).")
    comment: str | None = Field(default=None, max_length=2000)


class MergeIn(Request):
    into: Id = Field(description="Id of the ticket that absorbs this one.")


class MessageIn(Request):
    body: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]
    visibility: Visibility = Visibility.PUBLIC
    status: Status | None = Field(
        default=None, description="Move the ticket in the same step (e.g. reply and set pending)."
    )
    attachment_ids: list[Id] = Field(default_factory=list, max_length=20)
    signed: SignatureIn | None = None


class ChangesOut(BaseModel):
    last_seq: int = Field(
        description="The ticket's last event number: pass it as `after` to wait for the next."
    )


class MessageOut(BaseModel):
    id: str
    ticket_id: str
    seq: int
    author_id: str | None
    author_role: Role
    visibility: Visibility
    body: str
    attachments: list[AttachmentRef]
    created_at: str
    signed_by: str | None = Field(
        default=None, description="The wallet that signed this message (EIP-712); null: unsigned."
    )
    channel: Channel = Field(
        default=Channel.WEB, description="Where the message came in or went out (web, email, …)."
    )
    channel_ids: dict[str, str] = Field(
        default_factory=dict,
        description="The channel's own ids, e.g. an e-mail's `message_id` (its Message-ID).",
    )

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            ticket_id=m.ticket_id,
            seq=m.seq,
            author_id=m.author_id,
            author_role=Role(m.author_role),
            visibility=Visibility(m.visibility),
            body=m.body,
            attachments=[AttachmentRef(**a) for a in json.loads(m.attachments)],
            created_at=m.created_at,
            signed_by=m.signed_by,
            channel=Channel(m.channel),
            channel_ids=json.loads(m.channel_ids or "{}"),
        )


class EventOut(BaseModel):
    seq: int
    ticket_id: str
    ticket_seq: int
    type: str
    actor_id: str | None
    occurred_at: str
    payload: dict[str, Any]
