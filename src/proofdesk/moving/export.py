"""Exporting everything an organization owns, verifiably.

``OUT/`` receives JSON lines — ``tickets.jsonl`` (each ticket with its messages, its rating and
its receipt), ``people.jsonl``, ``kb.jsonl``, ``contracts.jsonl``, ``sla_policies.jsonl`` —,
``files/<sha256>`` for every attachment, ``checkpoint.txt`` (the log's signed checkpoint) and
``manifest.json`` (counts, and the SHA-256 of every file). Every ticket's receipt proves its
events against that one checkpoint, so :func:`verify_export` (``proofdesk verify-export``)
checks the export offline with the log's key. An erased customer stays erased: their user row
is already scrubbed, and their tickets' receipts reveal nothing (the key is gone).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select

from proofdesk.actions.blobs import BlobStore
from proofdesk.errors import InvalidInput
from proofdesk.ledger import checkpoints
from proofdesk.ledger.receipts import stream_receipt
from proofdesk.store.db import Database
from proofdesk.store.models import (
    KbArticle,
    LogHead,
    Message,
    ServiceContract,
    SlaPolicy,
    Ticket,
    User,
)
from proofdesk.verify.note import Signer, Verifier
from proofdesk.verify.receipt import verify_receipt

FORMAT = "proofdesk-export/v1"
USER_FIELDS = ("id", "role", "email", "display_name", "locale", "is_active", "tier", "created_at")
#: How many tickets are read per query (memory stays flat).
PAGE = 200


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(row: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    keys = names or tuple(c.key for c in row.__table__.columns)
    return {k: _plain(getattr(row, k)) for k in keys}


def _line(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")


@dataclass
class ExportReport:
    counts: dict[str, int] = field(default_factory=dict)


def export_organization(
    db: Database, signer: Signer, blobs: BlobStore, organization_id: str, out_dir: Path
) -> ExportReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise InvalidInput(f"{out_dir} is not empty", code="export_dir_not_empty")
    (out_dir / "files").mkdir()
    with db.reader() as session:
        head = session.get(LogHead, 1)
        size = int(head.next_seq) if head is not None else 0
    if size == 0:
        raise InvalidInput("the log is empty: nothing to export", code="nothing_to_export")
    cp = checkpoints.ensure(db, signer, size)
    (out_dir / "checkpoint.txt").write_text(cp.note, encoding="utf-8")
    report = ExportReport()
    with (out_dir / "tickets.jsonl").open("w", encoding="utf-8") as out:
        count = 0
        for ticket, messages in _tickets(db, organization_id, cp.size):
            receipt = stream_receipt(
                db, signer, ticket.id, ticket.last_seq, lambda event: True, None, at=cp
            )
            attachments = []
            for m in messages:
                for ref in json.loads(m.attachments):
                    attachments.append(ref["sha256"])
            for sha256 in attachments:
                target = out_dir / "files" / sha256
                if not target.exists() and blobs.path(sha256).exists():
                    target.write_bytes(blobs.get(sha256))
            _line(
                out,
                {
                    "ticket": _row(ticket),
                    "messages": [
                        {**_row(m), "attachments": json.loads(m.attachments)} for m in messages
                    ],
                    "receipt": receipt,
                },
            )
            count += 1
        report.counts["tickets"] = count
    with db.reader() as session:
        tables: list[tuple[str, Any, tuple[str, ...] | None]] = [
            ("people", User, USER_FIELDS),
            ("kb", KbArticle, None),
            ("contracts", ServiceContract, None),
            ("sla_policies", SlaPolicy, None),
        ]
        for name, model, names in tables:
            rows = session.scalars(
                select(model).where(model.organization_id == organization_id)
            ).all()
            with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as out:
                for row in rows:
                    _line(out, _row(row, names))
            report.counts[name] = len(rows)
    report.counts["files"] = sum(1 for _ in (out_dir / "files").iterdir())
    manifest = {
        "format": FORMAT,
        "organization_id": organization_id,
        "tree_size": cp.size,
        "counts": report.counts,
        "sha256": {
            str(p.relative_to(out_dir)): _digest(p)
            for p in sorted(out_dir.rglob("*"))
            if p.is_file()
        },
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return report


def _tickets(
    db: Database, organization_id: str, size: int
) -> Iterator[tuple[Ticket, list[Message]]]:
    last = 0
    while True:
        with db.reader() as session:
            page = session.scalars(
                select(Ticket)
                .where(
                    Ticket.organization_id == organization_id,
                    Ticket.number > last,
                    Ticket.last_seq < size,
                )
                .order_by(Ticket.number)
                .limit(PAGE)
            ).all()
            for ticket in page:
                messages = session.scalars(
                    select(Message).where(Message.ticket_id == ticket.id).order_by(Message.seq)
                ).all()
                yield ticket, list(messages)
        if len(page) < PAGE:
            return
        last = page[-1].number


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def count_tickets(db: Database, organization_id: str) -> int:
    with db.reader() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.organization_id == organization_id)
            )
            or 0
        )


def verify_export(out_dir: Path, key: Verifier | None) -> list[str]:
    """Every problem found in an export (none: it verifies). Each ticket's receipt must prove
    its events against the export's checkpoint; every file must match the manifest."""
    problems: list[str] = []
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        note = (out_dir / "checkpoint.txt").read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{out_dir} is not an export: {exc}", code="not_an_export") from None
    for name, digest in manifest.get("sha256", {}).items():
        path = out_dir / name
        if not path.is_file() or _digest(path) != digest:
            problems.append(f"{name}: missing or changed")
    with (out_dir / "tickets.jsonl").open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                doc = json.loads(line)
                receipt = doc["receipt"]
            except (ValueError, KeyError, TypeError):
                problems.append(f"tickets.jsonl line {number}: not a ticket")
                continue
            found = verify_receipt(receipt, key=key, checkpoint_note=note)
            if not found.ok:
                what = "; ".join(f"{c}: {m}" for c, m in found.failures[:3])
                problems.append(f"tickets.jsonl line {number}: receipt does not verify: {what}")
            elif receipt.get("ticket_id") != doc.get("ticket", {}).get("id"):
                problems.append(f"tickets.jsonl line {number}: receipt of another ticket")
    return problems
