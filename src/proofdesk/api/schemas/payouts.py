"""The request and response bodies of ``api/routes/payouts.py``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Id, Request, UtcTime


class OrderSyncIn(Request):
    """An order as the shop or exchange has it now (``PUT /orders/{id}`` or the webhook)."""

    customer_id: Id
    amount: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description='Decimal string, e.g. "0.25"; never a float.'
    )
    currency: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The shop's status: paid, delivered, failed, refunded, pending…"
    )
    kind: Literal["purchase", "withdrawal"] = "purchase"
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    paid_at: UtcTime | None = None
    delivered_at: UtcTime | None = None
    chain_id: int | None = None
    tx_hash: Annotated[str, StringConstraints(max_length=80)] | None = None
    updated_at: UtcTime | None = Field(
        default=None,
        description="When the shop last changed the order; an older update is ignored.",
    )


class OrderWebhookIn(OrderSyncIn):
    external_id: Id


class EscrowSettingsIn(Request):
    merchant_address: Annotated[str, StringConstraints(min_length=42, max_length=42)] = Field(
        description="The account whose WarrantyEscrow bond pays this organization's claims."
    )


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="Shown once; sign order webhooks with it.")


class PayoutOut(BaseModel):
    id: int
    ticket_id: str
    claim_id: str
    kind: str
    recipient: str | None
    amount: str
    status: str
    hold_reason: str | None
    approved_by: str | None
    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    error: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: Any) -> PayoutOut:
        return cls.model_validate(row, from_attributes=True)


class PayoutApproveIn(Request):
    recipient: Annotated[str, StringConstraints(min_length=42, max_length=42)] | None = None


class PayoutRejectIn(Request):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
