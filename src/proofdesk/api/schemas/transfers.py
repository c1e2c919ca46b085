"""The request and response bodies of ``api/routes/transfers.py``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Id, Request, ShortText
from proofdesk.domain.tickets import Status
from proofdesk.store.models import Transfer, TransferAgreement

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
PeerKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Field_ = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class AgreementIn(Request):
    name: ShortText
    peer_url: Url = Field(description="The partner's API base, e.g. https://desk.example/api/v1")
    peer_organization: Id = Field(description="The partner's organization id.")
    peer_key: PeerKey | None = Field(
        default=None,
        description="The partner's transfer key (ed25519:…); without it the agreement is "
        "inactive until it is set.",
    )


class AgreementPatch(Request):
    peer_key: PeerKey | None = None
    ended: bool | None = Field(default=None, description="true ends the agreement for good.")


class AgreementOut(BaseModel):
    id: str
    name: str
    peer_url: str
    peer_organization: str
    peer_key: str | None
    active: bool
    created_at: str
    ended_at: str | None

    @classmethod
    def of(cls, row: TransferAgreement) -> AgreementOut:
        return cls(
            id=row.id,
            name=row.name,
            peer_url=row.peer_url,
            peer_organization=row.peer_organization,
            peer_key=row.peer_key,
            active=row.peer_key is not None and row.ended_at is None,
            created_at=row.created_at,
            ended_at=row.ended_at,
        )


class PartnersOut(BaseModel):
    organization_id: str
    key: str = Field(description="This deployment's transfer key, for the partner's agreement.")
    log_key: str = Field(description="This deployment's log verifier key.")
    partners: list[AgreementOut]


class TransferKeyOut(BaseModel):
    key: str
    log_key: str


class ConsentIn(Request):
    agreement_id: Id
    fields: list[Field_] = Field(
        max_length=16, description="What the customer agreed to share (docs/consortium.md)."
    )


class SendIn(Request):
    transfer_id: Id


class UpdateIn(Request):
    message: Annotated[str, StringConstraints(min_length=1, max_length=64_000)] | None = None
    status: Status | None = None


class TransferOut(BaseModel):
    transfer_id: str
    agreement_id: str
    direction: str
    status: str
    ticket_id: str
    peer_ticket_id: str | None
    fields: list[str]
    bundle_hash: str | None
    acknowledgement: dict[str, Any] | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: Transfer) -> TransferOut:
        return cls(
            transfer_id=row.transfer_id,
            agreement_id=row.agreement_id,
            direction=row.direction,
            status=row.status,
            ticket_id=row.ticket_id,
            peer_ticket_id=row.peer_ticket_id,
            fields=json.loads(row.fields),
            bundle_hash=row.bundle_hash,
            acknowledgement=json.loads(row.acknowledgement) if row.acknowledgement else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class UpdateOut(BaseModel):
    update_id: str
    transfer_id: str
    delivered_at: str | None
