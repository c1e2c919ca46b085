"""A partner's log made in the test: leaves, signed checkpoints and consistency proofs from the
RFC 9162 functions of ``proofdesk.verify.merkle``, and add-checkpoint request bodies for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from proofdesk.ledger.witness import format_add_checkpoint
from proofdesk.verify.merkle import consistency_proof, leaf_hash, mth
from proofdesk.verify.note import Checkpoint, Signer, sign_note


@dataclass
class PartnerLog:
    signer: Signer
    leaves: list[bytes] = field(default_factory=list)

    @classmethod
    def new(cls, size: int = 0) -> PartnerLog:
        log = cls(Signer.generate(f"partner-{uuid.uuid4().hex[:8]}.example/log"))
        log.grow(size)
        return log

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def vkey(self) -> str:
        return self.signer.verifier.encode()

    def grow(self, n: int, tag: str = "") -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"{tag}leaf {i}".encode()) for i in range(start, start + n)]

    def note(self, size: int | None = None, signer: Signer | None = None) -> str:
        size = len(self.leaves) if size is None else size
        text = Checkpoint(self.origin, size, mth(self.leaves[:size])).text()
        return sign_note(text, signer or self.signer)

    def proof(self, old: int, size: int | None = None) -> list[bytes]:
        size = len(self.leaves) if size is None else size
        if old in (0, size):
            return []
        return consistency_proof(old, self.leaves[:size])

    def request(self, old: int, size: int | None = None) -> bytes:
        return format_add_checkpoint(old, self.proof(old, size), self.note(size))

    def forked(self) -> PartnerLog:
        """The same log (key, origin) whose last leaf differs: a split view."""
        return PartnerLog(self.signer, [*self.leaves[:-1], leaf_hash(b"forked")])
