"""The application factory: the whole ASGI app — the API, the web pages, their middleware and
the workers' lifespan — composed from a :class:`Settings`.

This is the composition root: the one module of ``app/`` that imports the adapters
(``api/``, ``web/``, the e-mail channel), to put them side by side; they never import each
other.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI

import proofdesk
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.uploads import upload_body_limit
from proofdesk.api import router as api_routes
from proofdesk.api.body_limit import BodyLimit
from proofdesk.api.router import API_PREFIX
from proofdesk.app.limits import AbuseLimits
from proofdesk.app.presence import Presence
from proofdesk.app.services import SendMail, Services, open_anchorer, open_database
from proofdesk.channels.email.send import Mail, Mailer, MailUnavailable
from proofdesk.channels.telegram import webhook as telegram_webhook
from proofdesk.domain.redaction import install_log_filter
from proofdesk.errors import ConfigError
from proofdesk.identity.credentials import RateLimiter
from proofdesk.ledger import checkpoints, witness
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.witnessing import WitnessPolicy
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import is_current
from proofdesk.web import site as web_site
from proofdesk.web.pages import MAX_FILES
from proofdesk.web.security import SecurityHeaders
from proofdesk.workers import registry


def mail_sender(settings: Settings) -> SendMail | None:
    """The e-mail channel's sender, as the pages use it: failures are logged, never raised."""
    mailer = Mailer.from_settings(settings)
    if mailer is None:
        return None

    def send(to: str, subject: str, text: str) -> None:
        with contextlib.suppress(MailUnavailable):
            mailer.send(Mail(to=to, subject=subject, text=text))

    return send


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
        follower = db.follower(settings.feed_follow_seconds)  # other processes' commits
        follower.start()
        workers.start(run)
        try:
            yield
        finally:
            follower.stop()
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
        limits=AbuseLimits.from_settings(settings),
        signer=signer,
        anchoring=workers.anchoring,
        automation=workers.automation,
        sla=workers.sla,
        assistant=workers.assistant.models,  # the one the rebuild worker swaps
        presence=Presence(db),
        cosigner=witness.cosigner_for(settings),
        witness_policy=WitnessPolicy.of(settings),
        send_mail=mail_sender(settings),
    )
    api_routes.install(app, db)
    app.include_router(telegram_webhook.router)
    web_site.install(app)
    upload = upload_body_limit(settings)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        by_path={f"{API_PREFIX}/attachments": upload, "/requests/new": upload * MAX_FILES},
        # The web's reply forms carry files too.
        by_suffix={"/reply": upload * MAX_FILES},
    )
    app.add_middleware(
        SecurityHeaders, api_prefix=API_PREFIX, widget_origins=settings.widget_origins
    )
    return app
