"""The request and response bodies of ``api/routes/chain_requests.py``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Request, ShortText, UtcTime
from proofdesk.domain.tickets import Kind


class ChainRequestIn(Request):
    kind: Kind
    subject: ShortText
    body: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]


class FilingOut(BaseModel):
    tx_hash: str
    log_index: int
    block_number: int
    block_time: UtcTime
    status: str = Field(description="opened, linked, unmatched, refused or dropped.")
    reason: str | None


class ChainCallOut(BaseModel):
    """The transaction the customer's wallet sends (EIP-1193 ``eth_sendTransaction``)."""

    chain_id: int
    to: str = Field(description="The RequestInbox contract.")
    data: str = Field(description="The ABI-encoded call of file(organization, commitment, 0x).")
    gas: int | None = Field(description="The node's gas estimate; null when it did not say.")
    cost_wei: int | None = Field(description="gas × today's gas price, in wei.")


class ChainRequestOut(BaseModel):
    id: str
    commitment: str = Field(
        description="The EIP-712 contentHash of kind, subject and body (what goes on chain)."
    )
    organization: str = Field(description="keccak256 of the organization's id.")
    expires_at: UtcTime
    ticket_id: str | None = Field(description="The request it opened, once filed and final.")
    call: ChainCallOut | None = Field(description="Only in the answer to the POST.")
    filings: list[FilingOut]
