"""The request and response bodies of ``api/routes/log.py``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InclusionProofOut(BaseModel):
    index: int
    size: int
    leaf_hash: str = Field(description="hex SHA-256(0x00 || leaf record)")
    hashes: list[str] = Field(description="PATH(index, D[size]) of RFC 9162, hex")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="PROOF(first, D[second]) of RFC 9162, hex")


class LogEntryOut(BaseModel):
    index: int
    leaf: str = Field(description="the leaf record, RFC 8785 canonical JSON")


class LogEntriesOut(BaseModel):
    size: int = Field(description="the log's size when read")
    entries: list[LogEntryOut] = Field(description="at most 1000; ask again from the last + 1")
