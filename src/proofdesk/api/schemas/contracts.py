"""The request and response bodies of ``api/routes/contracts.py``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Request, UtcTime
from proofdesk.store.models import (
    ServiceContract,
)


class ContractIn(Request):
    source: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] = Field(
        description="The contract's YAML document (docs/contracts.md)."
    )


class ContractOut(BaseModel):
    contract_hash: str
    name: str
    version: int
    active: bool
    published_at: UtcTime
    activated_at: UtcTime | None
    activated_seq: int | None = Field(
        default=None,
        description="The log entry of its latest activation (`contract.activated`): prove it "
        "with `/log/proof/inclusion`.",
    )
    kind: str = Field(default="ServiceContract", description="ServiceContract or Automation.")
    title: dict[str, str]

    @classmethod
    def of(cls, row: ServiceContract) -> ContractOut:
        document = json.loads(row.document)
        return cls(
            contract_hash=row.contract_hash,
            name=row.name,
            version=row.version,
            active=row.active,
            published_at=row.published_at,
            activated_at=row.activated_at,
            activated_seq=row.activated_seq,
            kind=document["kind"],
            title=document["metadata"]["title"],
        )


class ContractDocumentOut(ContractOut):
    source: str
    document: dict[str, Any]


class DecisionIn(Request):
    contract_hash: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="The active contract's id (`sha256:…`)."
    )
    facts: dict[str, Any] = Field(
        default_factory=dict,
        description="What you state about the claim: ``claim.*`` facts the contract declares "
        "(timestamps as RFC 3339 text, decimals as text). Every other fact comes from its "
        "provider and cannot be given here.",
    )


class DecisionOut(BaseModel):
    outcome: str
    rule: str | None
    reason: dict[str, str]
    actions: list[dict[str, Any]]
    trace: list[dict[str, str]]
    contract_hash: str
    facts_digest: str
    missing: list[str]


class DryRunIn(Request):
    source: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] = Field(
        description="A service contract's YAML document; it need not be published."
    )
    facts: dict[str, Any] = Field(
        default_factory=dict, description="``claim.*`` facts, as for a decision."
    )


class DryRunOut(BaseModel):
    contract_hash: str
    name: str
    version: int
    decision: DecisionOut
    facts: dict[str, Any] = Field(description="The facts the decision saw (JSON form).")
    sources: dict[str, str] = Field(description="Where each known fact came from.")
    unknown: dict[str, str] = Field(description="Why each fact not known is not.")
