"""The web UI's part of the app: its page routers and static files."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from proofdesk.app.guards import reject_nul_characters
from proofdesk.web import console, dashboard, live, pages, payouts, portal, signin, widget
from proofdesk.web.admin import contracts, overview, sla, webhooks


def install(app: FastAPI) -> None:
    """Add the pages (beside the API) and their static files to ``app``."""
    for module in (
        signin,
        portal,
        live,
        console,
        dashboard,
        widget,
        payouts,
        overview,
        sla,
        contracts,
        webhooks,
    ):
        app.include_router(module.router, dependencies=[Depends(reject_nul_characters)])
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
