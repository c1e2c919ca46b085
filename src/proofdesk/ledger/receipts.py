"""Receipts: a ticket's leaves, what the requester may see of them, and the proofs.

A receipt is self-contained: with it (and, to be sure, the log's key obtained elsewhere)
``proofdesk verify`` — or anyone's own code over :mod:`proofdesk.verify` — checks offline
that every event of the ticket is in the signed log, in order, unaltered, and that each
revealed value is the one the log committed to. See ``docs/receipt.schema.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import func, select

from proofdesk.access import Actor, access_ticket, event_visible
from proofdesk.canonical import canonical_json, format_time, utc_now
from proofdesk.domain.tickets import Event
from proofdesk.errors import InvalidInput, NotFound
from proofdesk.ledger import checkpoints
from proofdesk.ledger.anchors import anchor_for_receipt, covering_anchor
from proofdesk.ledger.store import EventReader, salt, tree
from proofdesk.ledger.witnessing import WitnessPolicy, cosigned_note
from proofdesk.store.db import Database
from proofdesk.store.models import LedgerLeaf, SignedCheckpoint, TicketEvent
from proofdesk.verify.note import Signer
from proofdesk.verify.receipt import RECEIPT_FORMAT

NO_WITNESSES = WitnessPolicy()


def build_receipt(
    db: Database,
    signer: Signer,
    actor: Actor,
    ticket_id: str,
    since: int | None = None,
    policy: WitnessPolicy = NO_WITNESSES,
) -> dict[str, Any]:
    """A ticket's receipt, revealing what ``actor`` may see of each event."""
    with db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        stream, last_seq = ticket.id, ticket.last_seq
    return stream_receipt(
        db,
        signer,
        stream,
        last_seq,
        lambda event: event_visible(actor, event.type.value, event.payload),
        since,
        policy,
    )


def organization_receipt(
    db: Database, signer: Signer, organization_id: str, policy: WitnessPolicy = NO_WITNESSES
) -> dict[str, Any]:
    """The receipt of an organization's own stream (which contract versions it activated, and
    when), every value revealed: the rules an organization promises by are public."""
    with db.reader() as session:
        last_seq = session.scalar(
            select(func.max(TicketEvent.seq)).where(TicketEvent.ticket_id == organization_id)
        )
    if last_seq is None:
        raise NotFound("this organization has activated nothing", code="no_activations")
    return stream_receipt(
        db, signer, organization_id, int(last_seq), lambda event: True, None, policy
    )


def stream_receipt(
    db: Database,
    signer: Signer,
    stream: str,
    last_seq: int,
    reveal: Callable[[Event], bool],
    since: int | None,
    policy: WitnessPolicy = NO_WITNESSES,
    at: SignedCheckpoint | None = None,
    fields: Callable[[Event], Collection[str]] | None = None,
) -> dict[str, Any]:
    """The receipt of one stream (a ticket's events, or an organization's); against the
    checkpoint ``at`` when given (an export ties every ticket to one checkpoint). ``fields``
    narrows what a revealed event reveals to the payload fields it names (a transfer shares
    the fields the customer agreed to, no more); without it every field is revealed."""
    cp = at
    if cp is None:
        with db.reader() as session:
            # A checkpoint k of n witnesses cosigned shows no split view; an anchored one that
            # covers the whole stream is fixed on chain. Either makes a stronger receipt.
            cp = policy.witnessed(session, last_seq + 1)
            covering = covering_anchor(session, last_seq + 1) if cp is None else None
            if covering is not None:
                cp = session.get(SignedCheckpoint, covering.tree_size)
    if cp is None:
        cp = checkpoints.ensure(db, signer, last_seq + 1)
    if since is not None and not 0 <= since <= cp.size:
        raise InvalidInput(
            f"since={since} is not between 0 and the checkpoint size {cp.size}",
            code="invalid_log_range",
        )
    with db.reader() as session:
        rows = session.execute(
            select(TicketEvent, LedgerLeaf.record)
            .join(LedgerLeaf, LedgerLeaf.seq == TicketEvent.seq)
            .where(TicketEvent.ticket_id == stream, TicketEvent.seq < cp.size)
            .order_by(TicketEvent.ticket_seq)
        ).all()
        reader = EventReader(session)
        keys = reader.keys(stream)
        t = tree(session, cp.size)
        entries = []
        for row, record in rows:
            event = reader.event(row)
            revealed = {}
            if keys is not None and reveal(event):
                revealed = {
                    name: {
                        "salt": salt(keys.salt_key, event.seq, name).hex(),
                        "value": canonical_json(value).decode(),
                    }
                    for name, value in event.payload.items()
                    if fields is None or name in fields(event)
                }
            entries.append(
                {
                    "index": event.seq,
                    "leaf": record,
                    "inclusion_proof": [h.hex() for h in t.inclusion_proof(event.seq, cp.size)],
                    "revealed": revealed,
                }
            )
        receipt: dict[str, Any] = {
            "format": RECEIPT_FORMAT,
            "log": {"origin": signer.name, "verifier_key": signer.verifier.encode()},
            "checkpoint": cosigned_note(session, cp),
            "ticket_id": stream,
            "issued_at": format_time(utc_now()),
            "erased": keys is None,
            "entries": entries,
        }
        anchor = anchor_for_receipt(session, cp.size)
        if anchor is not None:
            receipt["anchor"] = {
                "chain_id": anchor.chain_id,
                "contract": anchor.contract,
                "tx_hash": anchor.tx_hash,
                "block_number": anchor.block_number,
                "block_hash": anchor.block_hash,
                "block_time": anchor.block_time,
                "tree_size": anchor.tree_size,
                "root": bytes(anchor.root).hex(),
                "consistency_proof": [
                    h.hex() for h in t.consistency_proof(anchor.tree_size, cp.size)
                ],
            }
        if since is not None:
            receipt["consistency"] = {
                "first": since,
                "proof": [h.hex() for h in t.consistency_proof(since, cp.size)],
            }
    return receipt
