"""Rebuilding the assistant's models in the background.

Each step looks for the organizations whose knowledge base or examples changed since their
stored model was built (``Models.stale``) and builds them again, one after the other, outside
any write transaction (a build reads, encodes and fits, then stores the model in a short
transaction of its own). Requests keep answering with the last model meanwhile, and get the
new one in one assignment once it is stored (``Models.refresh``)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from proofdesk.assistant.conversation import Models
from proofdesk.errors import NotFound
from proofdesk.store.db import Database
from proofdesk.store.models import KbArticle
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)


class ModelRebuilder(PeriodicWorker):
    name = "assistant"

    def __init__(self, db: Database, models: Models, interval: float) -> None:
        super().__init__(interval)
        self.db = db
        self.models = models

    def step(self) -> int:
        """Rebuild every stale model; how many were rebuilt."""
        with self.db.reader() as session:
            organizations = list(session.scalars(select(KbArticle.organization_id).distinct()))
        rebuilt = 0
        for organization_id in organizations:
            if self._stopping() or not self.models.stale(self.db, organization_id):
                continue
            try:
                self.models.refresh(self.db, organization_id)
            except NotFound:
                continue  # fewer than two intents: nothing to build yet
            rebuilt += 1
            log.info("assistant: rebuilt the model of organization %s", organization_id)
        return rebuilt

    def _stopping(self) -> bool:
        return self._stop.is_set()
