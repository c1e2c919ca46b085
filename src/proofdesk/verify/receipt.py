"""Leaf records, commitments and receipts: what a receipt holder can check offline.

A leaf record is the RFC 8785 canonical JSON of::

    {"v": 1, "seq": <leaf index>, "org": <organization id>, "ticket": <ticket id>,
     "ticket_seq": <1, 2, … within the ticket>, "type": <event type>, "actor": <id or null>,
     "time": <RFC 3339 UTC>, "prev": <hex leaf hash of the ticket's previous event or null>,
     "commitments": {<payload field>: <hex SHA-256(salt || canonical JSON of the value)>}}

Every field of the event's payload is committed to, none is in the clear: the public log
reveals that something happened to a ticket, never what. A receipt carries, for each of a
ticket's leaves, an inclusion proof against one signed checkpoint and the values and salts of
the fields its holder may see (see ``docs/receipt.schema.json``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from proofdesk.verify.cosignature import CosignerKey, cosignatures
from proofdesk.verify.errors import NoteError, ProofError, VerificationError
from proofdesk.verify.merkle import leaf_hash, verify_consistency, verify_inclusion
from proofdesk.verify.note import Checkpoint, Verifier, open_checkpoint

LEAF_VERSION = 1
RECEIPT_FORMAT = "proofdesk-receipt/v1"
LEAF_KEYS = frozenset(
    {"v", "seq", "org", "ticket", "ticket_seq", "type", "actor", "time", "prev", "commitments"}
)


def commitment(salt: bytes, value_json: bytes) -> bytes:
    """``SHA-256(salt || canonical JSON of the value)``."""
    return hashlib.sha256(salt + value_json).digest()


@dataclass
class Report:
    """Every check made, in order; the receipt is valid when none failed."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    revealed: list[tuple[int, str, Any]] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    warnings: list[str] = field(default_factory=list)
    #: The tree size the receipt's anchor covers (0: no anchor in the receipt).
    anchored_size: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    @property
    def failures(self) -> list[tuple[str, str]]:
        return [(item, why) for item, ok, why in self.checks if not ok]

    def passed(self, item: str, detail: str = "") -> None:
        self.checks.append((item, True, detail))

    def failed(self, item: str, detail: str) -> None:
        self.checks.append((item, False, detail))


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise VerificationError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise VerificationError(f"{where}: {key!r} has the wrong type")
    return value


def _hex(text: Any, where: str, size: int | None = 32) -> bytes:
    if not isinstance(text, str):
        raise VerificationError(f"{where} is not a hex string")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise VerificationError(f"{where} is not hex") from None
    if size is not None and len(raw) != size:
        raise VerificationError(f"{where} is not {size} bytes")
    return raw


def parse_leaf(record: str) -> dict[str, Any]:
    """The fields of a leaf record, checked for shape (not for truth)."""
    try:
        leaf = json.loads(record)
    except ValueError:
        raise VerificationError("leaf record is not JSON") from None
    if not isinstance(leaf, dict) or set(leaf) != LEAF_KEYS:
        raise VerificationError("leaf record does not have the leaf fields")
    if leaf["v"] != LEAF_VERSION:
        raise VerificationError(f"leaf record version {leaf['v']!r} is not {LEAF_VERSION}")
    if not isinstance(leaf["commitments"], dict):
        raise VerificationError("leaf commitments are not an object")
    return leaf


def verify_receipt(
    receipt: Any,
    *,
    key: Verifier | None = None,
    checkpoint_note: str | None = None,
    since_note: str | None = None,
    witnesses: Sequence[CosignerKey] = (),
    min_witnesses: int = 0,
) -> Report:
    """Check a receipt (parsed JSON). Nothing raises: every finding is in the report.

    ``key`` pins the log's verifier key (otherwise the receipt's own key is used, with a
    warning); ``checkpoint_note`` is a checkpoint obtained elsewhere that the receipt's must
    match; ``since_note`` is an older checkpoint the receipt's must be consistent with;
    the receipt's checkpoint must carry valid cosignatures (C2SP tlog-cosignature) of at least
    ``min_witnesses`` of ``witnesses``.
    """
    report = Report()
    try:
        _verify(receipt, report, key, checkpoint_note, since_note)
        if witnesses or min_witnesses:
            _verify_witnesses(receipt, report, list(witnesses), min_witnesses)
    except VerificationError as exc:
        report.failed("receipt", str(exc))
    return report


def _verify_witnesses(
    receipt: Any, report: Report, witnesses: list[CosignerKey], min_witnesses: int
) -> None:
    """k of n: the checkpoint's note carries at least ``min_witnesses`` valid cosignatures by
    ``witnesses`` (lines of other keys are ignored, a forged one of theirs fails)."""
    if report.checkpoint is None:
        return  # the checkpoint itself failed; that is reported already
    try:
        found = cosignatures(_get(receipt, "checkpoint", str, "receipt"), witnesses)
    except NoteError as exc:
        report.failed("witnesses", str(exc))
        return
    names = ", ".join(sorted(key.split("+", 1)[0] for key in found)) or "none"
    detail = f"{len(found)} of {len(witnesses)} given witnesses cosigned ({names})"
    if len(found) >= min_witnesses:
        report.passed("witnesses", f"{detail}; at least {min_witnesses} needed")
    else:
        report.failed("witnesses", f"{detail}; {min_witnesses} needed")


def _verify(
    receipt: Any,
    report: Report,
    key: Verifier | None,
    checkpoint_note: str | None,
    since_note: str | None,
) -> None:
    if _get(receipt, "format", str, "receipt") != RECEIPT_FORMAT:
        raise VerificationError(f"format is not {RECEIPT_FORMAT!r}")
    log = _get(receipt, "log", dict, "receipt")
    try:
        embedded = Verifier.parse(_get(log, "verifier_key", str, "log"))
    except NoteError as exc:
        raise VerificationError(f"log verifier key: {exc}") from None
    if key is None:
        key = embedded
        report.warnings.append(
            "the log's key was taken from the receipt itself; pin it with --key to be sure "
            "whose log this is"
        )
    elif key != embedded:
        report.failed("log key", f"the receipt names key {embedded.encode()}, not the pinned one")
        return
    origin = _get(log, "origin", str, "log")
    try:
        cp = open_checkpoint(_get(receipt, "checkpoint", str, "receipt"), key, origin)
    except NoteError as exc:
        report.failed("checkpoint", str(exc))
        return
    report.checkpoint = cp
    report.passed("checkpoint", f"signed by {key.name}, size {cp.size}")

    if checkpoint_note is not None:
        try:
            other = open_checkpoint(checkpoint_note, key, origin)
        except NoteError as exc:
            report.failed("given checkpoint", str(exc))
        else:
            if (other.size, other.root) == (cp.size, cp.root):
                report.passed("given checkpoint", "matches the receipt's checkpoint")
            else:
                report.failed(
                    "given checkpoint",
                    f"size {other.size} root {other.root.hex()} is not the receipt's "
                    f"size {cp.size} root {cp.root.hex()}",
                )
    if since_note is not None:
        _check_since(receipt, report, key, origin, cp, since_note)

    anchor = receipt.get("anchor")
    if anchor is not None:
        _check_anchor(anchor, report, cp)

    ticket_id = _get(receipt, "ticket_id", str, "receipt")
    entries = _get(receipt, "entries", list, "receipt")
    if not entries:
        raise VerificationError("receipt has no entries")
    prev_hash: bytes | None = None
    for position, entry in enumerate(entries):
        _check_entry(entry, position, ticket_id, prev_hash, cp, report)
        prev_hash = leaf_hash(entry["leaf"].encode())


def _check_anchor(anchor: Any, report: Report, cp: Checkpoint) -> None:
    """The receipt's checkpoint extends the anchored tree (offline part; the chain itself is
    asked by ``proofdesk verify --rpc``)."""
    if not isinstance(anchor, dict):
        raise VerificationError("anchor is not an object")
    size = _get(anchor, "tree_size", int, "anchor")
    root = _hex(_get(anchor, "root", str, "anchor"), "anchor root")
    _get(anchor, "chain_id", int, "anchor")
    _get(anchor, "tx_hash", str, "anchor")
    hashes = _get(anchor, "consistency_proof", list, "anchor")
    proof = [_hex(h, f"anchor consistency proof element {i}") for i, h in enumerate(hashes)]
    if not 0 < size <= cp.size:
        report.failed("anchor", f"anchored size {size} is not between 1 and {cp.size}")
        return
    try:
        verify_consistency(size, cp.size, root, cp.root, proof)
    except ProofError as exc:
        report.failed("anchor", f"the checkpoint does not extend the anchored tree: {exc}")
        return
    report.anchored_size = size
    report.passed(
        "anchor",
        f"the checkpoint extends the tree of size {size} anchored on chain "
        f"{anchor['chain_id']} in tx {anchor['tx_hash']}",
    )


def _check_since(
    receipt: dict[str, Any],
    report: Report,
    key: Verifier,
    origin: str,
    cp: Checkpoint,
    since_note: str,
) -> None:
    try:
        old = open_checkpoint(since_note, key, origin)
    except NoteError as exc:
        report.failed("older checkpoint", str(exc))
        return
    if old.size > cp.size:
        report.failed(
            "consistency",
            f"the receipt's checkpoint (size {cp.size}) is older than yours (size "
            f"{old.size}): the log was rolled back or this receipt is stale",
        )
        return
    consistency = receipt.get("consistency")
    if old.size in (0, cp.size) and consistency is None:
        proof: list[bytes] = []
    else:
        if not isinstance(consistency, dict):
            report.failed(
                "consistency",
                f"the receipt has no consistency proof; ask for it with since={old.size}",
            )
            return
        first = _get(consistency, "first", int, "consistency")
        if first != old.size:
            report.failed(
                "consistency", f"the receipt's proof starts at size {first}, not {old.size}"
            )
            return
        hashes = _get(consistency, "proof", list, "consistency")
        proof = [_hex(h, f"consistency proof element {i}") for i, h in enumerate(hashes)]
    try:
        verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    except ProofError as exc:
        report.failed("consistency", f"size {old.size} to {cp.size}: {exc} (a fork)")
    else:
        report.passed("consistency", f"size {old.size} is a prefix of size {cp.size}")


def _check_entry(
    entry: Any,
    position: int,
    ticket_id: str,
    prev_hash: bytes | None,
    cp: Checkpoint,
    report: Report,
) -> None:
    where = f"entry {position}"
    index = _get(entry, "index", int, where)
    record = _get(entry, "leaf", str, where)
    item = f"leaf {index}"
    hashes = _get(entry, "inclusion_proof", list, where)
    proof = [_hex(h, f"{item} inclusion proof element {i}") for i, h in enumerate(hashes)]
    h = leaf_hash(record.encode())
    try:
        verify_inclusion(index, cp.size, h, proof, cp.root)
    except ProofError as exc:
        report.failed(item, f"not in the log: {exc}")
    else:
        report.passed(item, "included in the checkpoint")
    leaf = parse_leaf(record)
    expected = {"seq": index, "ticket": ticket_id, "ticket_seq": position + 1}
    for name, value in expected.items():
        if leaf[name] != value:
            report.failed(item, f"leaf {name} is {leaf[name]!r}, expected {value!r}")
    if position == 0:
        if leaf["prev"] is not None:
            report.failed(item, "the first event of a ticket must not have a predecessor")
    elif (
        leaf["prev"] is None or prev_hash is None or _hex(leaf["prev"], f"{item} prev") != prev_hash
    ):
        report.failed(item, "hash chain broken: prev is not the hash of the previous leaf")
    else:
        report.passed(f"{item} chain", "follows the previous leaf")
    revealed = entry.get("revealed", {})
    if not isinstance(revealed, dict):
        raise VerificationError(f"{where}: revealed is not an object")
    for name, opening in sorted(revealed.items()):
        _check_opening(item, leaf, name, opening, index, report)


def _check_opening(
    item: str, leaf: dict[str, Any], name: str, opening: Any, index: int, report: Report
) -> None:
    where = f"{item} field {name!r}"
    committed = leaf["commitments"].get(name)
    if committed is None:
        report.failed(where, "revealed but not committed to in the leaf")
        return
    salt = _hex(_get(opening, "salt", str, where), f"{where} salt")
    value_json = _get(opening, "value", str, where)
    if commitment(salt, value_json.encode()).hex() != committed:
        report.failed(where, "the revealed value does not match its commitment")
        return
    try:
        value = json.loads(value_json)
    except ValueError:
        raise VerificationError(f"{where}: value is not JSON") from None
    report.revealed.append((index, name, value))
    report.passed(where, "matches its commitment")
