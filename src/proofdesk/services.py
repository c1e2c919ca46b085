"""Building the pieces of a deployment from settings, shared by the CLI and tests."""

from __future__ import annotations

from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade


def open_database(settings: Settings, *, migrate: bool = False) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(
        settings.effective_database_url,
        keyring=Keyring.from_file(settings.effective_data_key_file),
    )
    if migrate:
        upgrade(db)
    return db
