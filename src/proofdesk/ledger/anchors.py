"""Which on-chain anchor a receipt cites (the chain layer records them; see
:mod:`proofdesk.chain.anchoring`). Kept here so that issuing a receipt needs no web3."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.store.models import Anchor


def covering_anchor(session: Session, size: int) -> Anchor | None:
    """The oldest confirmed anchor of at least ``size`` leaves: a receipt citing its checkpoint
    has every event of the ticket under an on-chain anchor."""
    return session.scalars(
        select(Anchor)
        .where(Anchor.status == "confirmed", Anchor.tree_size >= size)
        .order_by(Anchor.tree_size, Anchor.id)
        .limit(1)
    ).first()


def anchor_for_receipt(session: Session, size: int) -> Anchor | None:
    """The newest confirmed anchor of at most ``size`` leaves, on any chain."""
    return session.scalars(
        select(Anchor)
        .where(Anchor.status == "confirmed", Anchor.tree_size <= size)
        .order_by(Anchor.tree_size.desc(), Anchor.id.desc())
        .limit(1)
    ).first()
