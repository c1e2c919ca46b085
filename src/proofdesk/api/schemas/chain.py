"""The request and response bodies of ``api/routes/chain.py``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AnchorOut(BaseModel):
    tree_size: int
    root: str = Field(description="Hex RFC 9162 root of the anchored tree.")
    status: str = Field(description="sent, mined, confirmed, failed or lost.")
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int | None
    block_hash: str | None
    block_time: str | None
    gas_used: int | None
    created_at: str


class AnchorsOut(BaseModel):
    anchors: list[AnchorOut]
    next_before: int | None = Field(description="Pass as `before` for older anchors.")


class ChainOut(BaseModel):
    chain_id: int
    development: bool = Field(description="True for the embedded development chain.")
    description: str
    head: int | None
    anchor_contract: str | None
    contract_live: bool
    checkpoint_size: int
    anchored_size: int
    in_flight: int | None
    problem: str | None
