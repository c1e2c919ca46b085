"""The chain layer in public: the log's anchors and the chain's status. Public like the log:
anchors reveal sizes and roots, nothing else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from proofdesk.api.deps import ServicesDep
from proofdesk.api.params import query_int
from proofdesk.api.schemas.chain import AnchorOut, AnchorsOut, ChainOut
from proofdesk.app.limits import Kind, per_address
from proofdesk.store.models import Anchor

router = APIRouter(tags=["chain"], dependencies=[per_address(Kind.PUBLIC)])


@router.get("/log/anchors", response_model=AnchorsOut, summary="Anchors of the log on chain")
def anchors(
    services: ServicesDep,
    limit: Annotated[int, query_int(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, query_int(ge=1, description="Only anchors with a smaller id.")
    ] = None,
    status: Annotated[str | None, Query(pattern="^(sent|mined|confirmed|failed|lost)$")] = None,
) -> AnchorsOut:
    query = select(Anchor).order_by(Anchor.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Anchor.id < before)
    if status is not None:
        query = query.where(Anchor.status == status)
    with services.db.reader() as session:
        rows = session.scalars(query).all()
    out = [
        AnchorOut(
            tree_size=r.tree_size,
            root=bytes(r.root).hex(),
            status=r.status,
            chain_id=r.chain_id,
            contract=r.contract,
            tx_hash=r.tx_hash,
            block_number=r.block_number,
            block_hash=r.block_hash,
            block_time=r.block_time,
            gas_used=r.gas_used,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return AnchorsOut(anchors=out, next_before=rows[-1].id if len(rows) == limit else None)


@router.get("/chain", response_model=ChainOut, summary="The chain the log is anchored on")
def chain_status(services: ServicesDep) -> ChainOut:
    st = services.anchoring.anchorer().status()
    # The worker's last failure (a revert it cannot explain, a node error) also counts.
    problem = st.problem or services.anchoring.last_error
    return ChainOut(
        chain_id=st.chain_id,
        development=st.development,
        description=st.chain,
        head=st.head,
        anchor_contract=st.contract,
        contract_live=st.contract_live,
        checkpoint_size=st.checkpoint_size,
        anchored_size=st.anchored_size,
        in_flight=st.in_flight,
        problem=problem,
    )
