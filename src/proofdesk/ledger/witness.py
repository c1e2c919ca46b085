"""ProofDesk as a witness (C2SP tlog-witness): the request, its checks, the witness's key.

``POST <prefix>/add-checkpoint`` carries ``old <size>``, up to 63 consistency proof lines
(base64 hashes), an empty line, then the checkpoint note. The checks, in the spec's order,
and the status of each failure:

- a body that is not that shape: 400;
- an origin we do not witness: 404;
- no signature by the log's key verifies: 403;
- ``old`` above the checkpoint's size: 400;
- ``old`` is not the size we last cosigned (0 if none): 409, body ``<size>\\n`` as
  ``text/x.tlog.size``;
- the same size as we cosigned with another root: 409;
- the consistency proof from ``old`` does not verify (or is not empty for ``old`` 0): 422.

A validly signed checkpoint that would roll back (smaller than what we cosigned), fork (same
size, other root) or fails its proof from our size is kept as evidence
(:class:`~proofdesk.store.models.WitnessRefusal`). The check and the update of the cosigned
size are one compare-and-set (``actions.witness``), so of two concurrent requests from the same
``old`` one wins and the other gets the 409.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path

from proofdesk.errors import ConfigError, Conflict, Error, Forbidden, InvalidInput, NotFound
from proofdesk.ledger.keyfiles import read_or_create_private
from proofdesk.settings import Settings
from proofdesk.verify.cosignature import Cosigner
from proofdesk.verify.errors import NoteError
from proofdesk.verify.note import Checkpoint, split_note

MAX_PROOF_LINES = 63
CONTENT_TYPE_SIZE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


class BadRequest(Error):
    code = "invalid_add_checkpoint"
    http_status = 400


class UnknownLog(NotFound):
    code = "unknown_log"


class BadLogSignature(Forbidden):
    code = "bad_log_signature"


class SizeConflict(Conflict):
    """409: ``old`` is not what we cosigned, or the same size has another root. The body the
    spec wants is :attr:`size` in decimal and a newline."""

    code = "witness_size_conflict"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, size=size)
        self.size = size


class BadConsistencyProof(InvalidInput):
    code = "bad_consistency_proof"


@dataclass(frozen=True)
class AddCheckpoint:
    old: int
    proof: list[bytes]
    note: str
    checkpoint: Checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """The request body, parsed; :class:`BadRequest` if it is not in the spec's shape."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BadRequest("the request has no empty line before the checkpoint")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if match is None:
        raise BadRequest("the first line must be `old <size>` in decimal")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise BadRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise BadRequest("a consistency proof line is not base64") from None
        if len(h) != 32:
            raise BadRequest("a consistency proof line is not a 32-byte hash")
        proof.append(h)
    try:
        checkpoint = Checkpoint.parse(split_note(note)[0])
    except NoteError as exc:
        raise BadRequest(f"the checkpoint: {exc}") from None
    return AddCheckpoint(int(match.group(1)), proof, note, checkpoint)


def format_add_checkpoint(old: int, proof: list[bytes], note: str) -> bytes:
    """The body of an add-checkpoint request (what our log sends its witnesses)."""
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def parse_size(body: str) -> int | None:
    """The size in a 409 ``text/x.tlog.size`` body; None if it is not one."""
    match = re.fullmatch(r"(0|[1-9][0-9]{0,18})\n", body)
    return None if match is None else int(match.group(1))


def load_or_create_cosigner(path: Path, name: str) -> Cosigner:
    """The witness's key at ``path``, generated (mode 0600) with ``name`` on first use."""
    try:
        Cosigner.generate(name)
    except NoteError as exc:
        raise ConfigError(f"witness_name {name!r}: {exc}", key="witness_name") from None
    text = read_or_create_private(
        path, "witness_key_file", lambda: Cosigner.generate(name).encode() + "\n"
    )
    try:
        return Cosigner.parse(text)
    except NoteError as exc:
        raise ConfigError(
            f"the witness key {path} is not a witness key: {exc}", key="witness_key_file"
        ) from None


def cosigner_for(settings: Settings) -> Cosigner:
    return load_or_create_cosigner(settings.effective_witness_key_file, settings.witness_key_name)
