"""The API's part of the app: its routes under ``/api/v1``, the log's well-known key, and the
error handlers that give every failure the API's JSON shape."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import PlainTextResponse

import proofdesk
from proofdesk.api import errors
from proofdesk.api.deps import ServicesDep
from proofdesk.api.routes import (
    accounts,
    analytics,
    assistant,
    attachments,
    auth,
    chain,
    chain_requests,
    community,
    contracts,
    guests,
    log,
    macros,
    networks,
    payouts,
    rewards,
    sla,
    tickets,
    transfers,
    webhooks,
    witness,
)
from proofdesk.api.schemas.common import ERROR_RESPONSES
from proofdesk.app.guards import reject_nul_characters
from proofdesk.app.limits import Kind, per_address
from proofdesk.store.db import Database

API_PREFIX = "/api/v1"


def install(app: FastAPI, db: Database) -> None:
    """Add the API's routes and error handlers to ``app``."""
    errors.install(app)
    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(reject_nul_characters)],
        responses=ERROR_RESPONSES,
    )

    @api.get("/health", tags=["meta"], summary="Liveness and schema check")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": proofdesk.__version__, "database": db.dialect}

    for module in (
        auth,
        tickets,
        log,
        chain,
        chain_requests,
        networks,
        contracts,
        payouts,
        rewards,
        sla,
        macros,
        assistant,
        guests,
        analytics,
        accounts,
        attachments,
        webhooks,
        witness,
        transfers,
        community,
    ):
        api.include_router(module.router)
    app.include_router(api)

    @app.get(
        "/.well-known/proofdesk/log-key",
        include_in_schema=False,
        dependencies=[per_address(Kind.PUBLIC)],
    )
    def well_known_key(services: ServicesDep) -> PlainTextResponse:
        return log.verifier_key(services)
