"""Schemas of ``/networks``: the registry of ``domain.networks``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NetworkOut(BaseModel):
    key: str = Field(description="What a ticket's `network` field takes.")
    name: str
    family: str = Field(description="evm, tron, bitcoin, solana or ton: the identifier rules.")
    coin: str
    chain_id: int | None = Field(description="EIP-155 chain id (EVM networks only).")
    token_standard: str | None
    lookup: bool = Field(description="Whether this desk can look its transactions up.")


class NetworksOut(BaseModel):
    networks: list[NetworkOut]
