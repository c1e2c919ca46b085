"""What ``proofdesk demo`` adds after the tickets are played: the starter knowledge base and
the assistant's labelled examples from the checkout, and the demo merchant's escrow bond on the
development chain. Apart from ``play`` because each needs slow imports (web3, the assistant's
models) that seeding the tickets does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from proofdesk.access import Actor
from proofdesk.actions.payouts import do_set_merchant
from proofdesk.demo.play import DEMO_SLUG, STAFF_DOMAIN
from proofdesk.domain.roles import Role
from proofdesk.store.db import Database
from proofdesk.store.models import Organization, User


def fund_escrow(db: Database, chain: Any) -> str | None:
    """On the embedded development chain: make dev account 3 the demo's escrow merchant with a
    10-coin bond, so that approved refunds are really paid. Returns what to print."""
    # Imported here, not for a cycle: web3 is slow to import and only this step needs it.
    from proofdesk.chain.base import contract, transact
    from proofdesk.chain.embedded import dev_accounts
    from proofdesk.chain.payouts import Payer

    address = Payer(db, chain).contract_address("escrow")
    if address is None:
        return None
    merchant = dev_accounts()[3]
    escrow = contract(chain, "WarrantyEscrow", address)
    with db.writer() as session:
        org = session.scalars(select(Organization).where(Organization.slug == DEMO_SLUG)).first()
        if org is None:
            return None
        admin = session.scalars(
            select(User).where(
                User.organization_id == org.id, User.email == f"admin@{STAFF_DOMAIN}"
            )
        ).first()
        if admin is None:
            return None
        do_set_merchant(session, Actor(admin.id, org.id, Role(admin.role)), merchant.address)
    if chain.call(lambda: escrow.functions.bond(merchant.address).call()) == 0:
        transact(chain, escrow.functions.deposit(), account=merchant, value=10 * 10**18)
    return f"escrow bond of the demo merchant {merchant.address}: 10 (development chain)"


#: The starter knowledge base and the assistant's training examples, in a checkout of the
#: repository (``make run``).
STARTER_KB = Path(__file__).resolve().parents[3] / "data" / "kb"
STARTER_EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "assistant" / "train.csv"


def import_starter_kb(db: Database) -> str | None:
    """Give the demo organization the starter knowledge base and the labelled examples the
    assistant was evaluated with, when the checkout has them."""
    import csv

    # Imported here, not for a cycle: the assistant's models are slow to import.
    from proofdesk.actions.kb import do_save_article
    from proofdesk.assistant import kb, training

    if not STARTER_KB.is_dir():
        return None
    specs = kb.read_path(STARTER_KB)
    rows: list[tuple[str, str]] = []
    if STARTER_EXAMPLES.is_file():
        with STARTER_EXAMPLES.open(encoding="utf-8", newline="") as handle:
            rows = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
    with db.writer() as session:
        org = session.scalars(select(Organization).where(Organization.slug == DEMO_SLUG)).first()
        if org is None:
            return None
        changed = sum(do_save_article(session, None, org.id, spec) for spec in specs)
        examples = training.import_examples(session, org.id, rows)
    return (
        f"knowledge base: {len(specs)} starter articles ({changed} new or changed), "
        f"{examples} new training examples"
    )
