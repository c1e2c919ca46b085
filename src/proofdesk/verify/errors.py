"""The one error every verification failure raises.

Whoever checks our log needs one thing to catch: a malformed proof, note, checkpoint or receipt
must never leak a raw ``ValueError`` or ``KeyError`` from deep inside the parsing. The
subclasses exist because the server tells a bad proof (the tree does not match) apart from a bad
note (the signature or key does not match) when it reports an audit finding; a plain
:class:`VerificationError` is what the receipt checker raises for a receipt of the wrong shape.

This module stays free of :mod:`proofdesk.errors` on purpose: :mod:`proofdesk.verify` imports
only the standard library and ``cryptography`` so that it can be lifted out as it is.
"""

from __future__ import annotations


class VerificationError(Exception):
    """Something offered as evidence does not check out. The message says what and where."""


class ProofError(VerificationError):
    """A Merkle proof, hash or tree size that does not check out (RFC 9162 §2.1)."""


class NoteError(VerificationError):
    """A key, signed note or checkpoint that is malformed or does not verify (C2SP)."""
