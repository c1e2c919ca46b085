"""ProofDesk as a witness of other logs (C2SP tlog-witness): ``POST /witness/add-checkpoint``
and the witness's key. Public: the protocol authenticates the checkpoint by the log's
signature, not the caller (``ledger.witness`` lists the checks and their status codes)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from proofdesk.actions.witness import do_add_checkpoint
from proofdesk.api.deps import ServicesDep
from proofdesk.api.schemas.common import NON_JSON_ERROR_RESPONSES
from proofdesk.app.limits import Kind, per_address
from proofdesk.ledger.witness import CONTENT_TYPE_SIZE, SizeConflict, parse_add_checkpoint

router = APIRouter(prefix="/witness", tags=["witness"], dependencies=[per_address(Kind.PUBLIC)])

TEXT: dict[int | str, dict[str, Any]] = {
    **NON_JSON_ERROR_RESPONSES,
    200: {"content": {"text/plain": {}}},
}


@router.post(
    "/add-checkpoint",
    response_class=PlainTextResponse,
    responses={**TEXT, 409: {"content": {CONTENT_TYPE_SIZE: {}}}},
    summary="Submit a checkpoint and a consistency proof; get our cosignature (tlog-witness)",
)
async def add_checkpoint(request: Request, services: ServicesDep) -> Response:
    submitted = parse_add_checkpoint(await request.body())
    try:
        signature = await run_in_threadpool(
            do_add_checkpoint, services.db, services.cosigner, submitted, int(time.time())
        )
    except SizeConflict as exc:
        # Exactly this Content-Type, no charset parameter (Starlette adds one to text/*).
        return Response(
            f"{exc.size}\n".encode(), status_code=409, headers={"Content-Type": CONTENT_TYPE_SIZE}
        )
    return PlainTextResponse(signature.line())


@router.get(
    "/key",
    response_class=PlainTextResponse,
    responses=TEXT,
    summary="The witness's verifier key (vkey, cosignature/v1 type 0x04)",
)
def witness_key(services: ServicesDep) -> PlainTextResponse:
    return PlainTextResponse(services.cosigner.key.encode() + "\n")
