"""The public face of the log: checkpoints, the verifier key, proofs, leaf records, tiles.

These routes need no credentials: a transparency log is for anyone to check. They reveal no
content, only leaf records (ids, event types, times and commitments). ``/api/v1/log`` is also
the log's C2SP tlog-tiles prefix: ``<prefix>/checkpoint`` and ``<prefix>/tile/…``
(:mod:`proofdesk.ledger.tiles`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from proofdesk.api.deps import ServicesDep
from proofdesk.api.params import path_int, query_int
from proofdesk.api.schemas.common import NON_JSON_ERROR_RESPONSES
from proofdesk.api.schemas.log import (
    ConsistencyProofOut,
    InclusionProofOut,
    LogEntriesOut,
    LogEntryOut,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.errors import InvalidInput, NotFound
from proofdesk.ledger import checkpoints, tiles
from proofdesk.ledger.store import log_size, tree
from proofdesk.ledger.tree import LedgerError
from proofdesk.ledger.witnessing import cosigned_note
from proofdesk.store.models import LedgerLeaf, SignedCheckpoint
from proofdesk.verify.merkle import ProofError

router = APIRouter(prefix="/log", tags=["log"])
# Public, so limited per address (``app.limits``): proofs and entries cost reads. Tiles have a
# window of their own: a monitor or witness catching up reads thousands of them, each one a
# bounded read that a cache in front can serve.
PUBLIC = [per_address(Kind.PUBLIC)]
TILES = [per_address(Kind.TILES)]

MAX_ENTRIES = 1000
NOTE: dict[int | str, dict[str, Any]] = {
    **NON_JSON_ERROR_RESPONSES,
    200: {"content": {"text/plain": {}}},
}
TILE: dict[int | str, dict[str, Any]] = {
    **NON_JSON_ERROR_RESPONSES,
    200: {"content": {"application/octet-stream": {}}},
}
Size = Annotated[int, query_int()]
#: A full tile never changes; a partial one is superseded as the tree grows; the checkpoint
#: moves every second or so (tlog-tiles: "SHOULD prevent caching beyond a few seconds").
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=10"
CHECKPOINT_CACHE = "public, max-age=2"


def _bad_range(exc: Exception) -> InvalidInput:
    return InvalidInput(str(exc), code="invalid_log_range")


@router.get(
    "/checkpoint",
    dependencies=PUBLIC,
    response_class=PlainTextResponse,
    responses=NOTE,
    summary="The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)",
)
def latest_checkpoint(services: ServicesDep) -> PlainTextResponse:
    with services.db.reader() as session:
        row = checkpoints.latest(session)
    if row is None:  # a fresh log: sign its first checkpoint now
        row = checkpoints.ensure(services.db, services.signer, 0)
    with services.db.reader() as session:  # with the cosignatures of our witnesses
        note = cosigned_note(session, row)
    return PlainTextResponse(note, headers={"Cache-Control": CHECKPOINT_CACHE})


@router.get(
    "/checkpoints/{size}",
    dependencies=PUBLIC,
    response_class=PlainTextResponse,
    responses=NOTE,
    summary="The signed checkpoint of one tree size, if the log signed one",
)
def checkpoint_of_size(
    size: Annotated[int, path_int()], services: ServicesDep
) -> PlainTextResponse:
    with services.db.reader() as session:
        row = session.get(SignedCheckpoint, size)
        if row is None:
            raise NotFound(f"no checkpoint of size {size}", code="no_such_checkpoint")
        return PlainTextResponse(cosigned_note(session, row))


@router.get(
    "/key",
    dependencies=PUBLIC,
    response_class=PlainTextResponse,
    responses=NOTE,
    summary="The log's verifier key (signed-note vkey format)",
)
def verifier_key(services: ServicesDep) -> PlainTextResponse:
    return PlainTextResponse(services.signer.verifier.encode() + "\n")


@router.get(
    "/proof/inclusion",
    response_model=InclusionProofOut,
    summary="Inclusion proof",
    dependencies=PUBLIC,
)
def inclusion(index: Size, size: Size, services: ServicesDep) -> InclusionProofOut:
    with services.db.reader() as session:
        t = tree(session)
        try:
            if size > t.size:
                raise ProofError(f"tree size {size} is beyond the log's size {t.size}")
            proof = t.inclusion_proof(index, size)
            leaf = t.leaf_hash(index)
        except (ProofError, LedgerError) as exc:
            raise _bad_range(exc) from None
    return InclusionProofOut(
        index=index, size=size, leaf_hash=leaf.hex(), hashes=[h.hex() for h in proof]
    )


@router.get(
    "/proof/consistency",
    response_model=ConsistencyProofOut,
    summary="Consistency proof",
    dependencies=PUBLIC,
)
def consistency(first: Size, second: Size, services: ServicesDep) -> ConsistencyProofOut:
    with services.db.reader() as session:
        t = tree(session)
        try:
            proof = t.consistency_proof(first, second)
        except (ProofError, LedgerError) as exc:
            raise _bad_range(exc) from None
    return ConsistencyProofOut(first=first, second=second, hashes=[h.hex() for h in proof])


@router.get(
    "/entries",
    response_model=LogEntriesOut,
    summary="Leaf records [start, end)",
    dependencies=PUBLIC,
)
def entries(start: Size, end: Size, services: ServicesDep) -> LogEntriesOut:
    with services.db.reader() as session:
        size = log_size(session)
        if not start <= end <= size:
            raise _bad_range(ValueError(f"need start <= end <= {size} (the log size)"))
        end = min(end, start + MAX_ENTRIES)
        rows = session.execute(
            select(LedgerLeaf.seq, LedgerLeaf.record)
            .where(LedgerLeaf.seq >= start, LedgerLeaf.seq < end)
            .order_by(LedgerLeaf.seq)
        ).all()
    return LogEntriesOut(
        size=size, entries=[LogEntryOut(index=seq, leaf=record) for seq, record in rows]
    )


@router.get(
    "/tile/{path:path}",
    dependencies=TILES,
    response_class=Response,
    responses=TILE,
    summary="A C2SP tlog-tiles tile (<L>/<N>[.p/<W>]) or entry bundle (entries/<N>[.p/<W>])",
)
def tile(path: str, services: ServicesDep) -> Response:
    ref = tiles.parse_tile_path(path)
    with services.db.reader() as session:
        data = tiles.read_tile(session, ref, log_size(session))
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Cache-Control": IMMUTABLE if ref.full else SHORT},
    )
