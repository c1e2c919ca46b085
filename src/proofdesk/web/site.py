"""The web UI's part of the app: its page routers and static files."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from proofdesk.app.guards import reject_nul_characters
from proofdesk.web import (
    community,
    console,
    customers,
    dashboard,
    live,
    macros,
    missing,
    pages,
    payouts,
    portal,
    rewards,
    search,
    signin,
    verifier,
    widget,
)
from proofdesk.web.admin import contracts, overview, sla, webhooks


def install(app: FastAPI) -> None:
    """Add the pages (beside the API) and their static files to ``app``."""
    for module in (
        signin,
        portal,
        live,
        console,
        search,
        customers,
        macros,
        dashboard,
        widget,
        verifier,
        payouts,
        rewards,
        overview,
        sla,
        contracts,
        webhooks,
        community,
    ):
        app.include_router(module.router, dependencies=[Depends(reject_nul_characters)])
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    # Last: what no page matched under the pages' prefixes is a page that does not exist.
    app.include_router(missing.router, dependencies=[Depends(reject_nul_characters)])
