"""Building the pieces of a deployment from settings, shared by the CLI and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade

if TYPE_CHECKING:
    from proofdesk.chain.anchoring import Anchorer


def open_database(settings: Settings, *, migrate: bool = False) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(
        settings.effective_database_url,
        keyring=Keyring.from_file(settings.effective_data_key_file),
    )
    if migrate:
        upgrade(db)
    return db


def open_anchorer(settings: Settings, db: Database) -> Anchorer:
    """The anchoring service of this deployment's log on its configured chain. The embedded
    development chain is this deployment's alone: its contracts are deployed on first use."""
    from proofdesk.chain import contracts
    from proofdesk.chain.anchoring import Anchorer, Policy
    from proofdesk.chain.connect import open_chain
    from proofdesk.chain.deployments import deploy_contracts
    from proofdesk.ledger.checkpoints import signer_for

    chain = open_chain(settings)
    anchorer = Anchorer(
        db,
        chain,
        signer_for(settings).name,
        Policy(settings.anchor_every_leaves, settings.anchor_every_seconds),
        contract_address=settings.anchor_contract,
    )
    if chain.kind == "embedded" and anchorer.contract_address() is None:
        deploy_contracts(db, chain, contracts.NAMES)
    return anchorer
