"""The application factory: one FastAPI app, configured from a :class:`Settings`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles

import proofdesk
from proofdesk.actions.blobs import BlobStore
from proofdesk.api import errors
from proofdesk.api.body_limit import BodyLimit
from proofdesk.api.deps import Services, reject_nul_characters
from proofdesk.api.routes import (
    accounts,
    analytics,
    assistant,
    attachments,
    auth,
    chain,
    contracts,
    log,
    macros,
    payouts,
    sla,
    tickets,
)
from proofdesk.app.presence import Presence
from proofdesk.app.services import open_anchorer, open_database
from proofdesk.assistant.conversation import Models
from proofdesk.domain.redaction import install_log_filter
from proofdesk.errors import ConfigError
from proofdesk.identity.credentials import RateLimiter
from proofdesk.ledger import checkpoints
from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import is_current
from proofdesk.web import admin as web_admin
from proofdesk.web import pages as web
from proofdesk.web.security import SecurityHeaders
from proofdesk.workers import registry

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings, db: Database | None = None, *, run_workers: Iterable[str] | None = None
) -> FastAPI:
    """The app; its lifespan starts ``run_workers`` (default: every worker)."""
    db = db or open_database(settings)
    if db.keyring is None:
        db.keyring = Keyring.from_file(settings.effective_data_key_file)
    if not is_current(db):
        raise ConfigError(
            "the database schema is not current: run `proofdesk migrate`", key="database_url"
        )
    signer = checkpoints.signer_for(settings)
    workers = registry.build(settings, db, signer, lambda: open_anchorer(settings, db))
    run = registry.NAMES if run_workers is None else tuple(run_workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        install_log_filter()  # no seed phrase or key reaches a log line (access logs included)
        workers.start(run)
        try:
            yield
        finally:
            workers.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="ProofDesk",
        version=proofdesk.__version__,
        summary="Verifiable customer service for Web3 platforms.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI would load its assets from a CDN; nothing at run time does
        redoc_url=None,
    )
    app.state.services = Services(
        settings=settings,
        db=db,
        blobs=BlobStore(settings.blob_dir),
        login_limiter=RateLimiter(settings.login_rate_per_minute),
        login_limiter_by_address=RateLimiter(settings.login_rate_per_minute * 10),
        signer=signer,
        anchoring=workers.anchoring,
        automation=workers.automation,
        sla=workers.sla,
        assistant=Models.from_settings(settings),
        presence=Presence(db),
    )
    errors.install(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        by_path={
            f"{API_PREFIX}/attachments": attachments.upload_body_limit(settings),
            "/requests/new": attachments.upload_body_limit(settings) * web.MAX_FILES,
        },
        # The web's reply forms carry files too.
        by_suffix={"/reply": attachments.upload_body_limit(settings) * web.MAX_FILES},
    )
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(reject_nul_characters)])

    @api.get("/health", tags=["meta"], summary="Liveness and schema check")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": proofdesk.__version__, "database": db.dialect}

    api.include_router(auth.router)
    api.include_router(tickets.router)
    api.include_router(log.router)
    api.include_router(chain.router)
    api.include_router(contracts.router)
    api.include_router(payouts.router)
    api.include_router(sla.router)
    api.include_router(macros.router)
    api.include_router(assistant.router)
    api.include_router(analytics.router)
    api.include_router(accounts.router)
    api.include_router(attachments.router)
    app.include_router(api)

    @app.get("/.well-known/proofdesk/log-key", include_in_schema=False)
    def well_known_key() -> PlainTextResponse:
        return log.verifier_key(app.state.services)

    # The web UI: pages beside the API, their static files, and their security headers.
    app.include_router(web.router, dependencies=[Depends(reject_nul_characters)])
    app.include_router(web_admin.router, dependencies=[Depends(reject_nul_characters)])
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")
    app.add_middleware(
        SecurityHeaders, api_prefix=API_PREFIX, widget_origins=settings.widget_origins
    )
    return app
