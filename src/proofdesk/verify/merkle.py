"""RFC 9162 §2.1 Merkle tree hashing and proof verification.

Small pure functions over bytes. ``n`` is a tree size, ``index`` a leaf index (0-based),
hashes are 32-byte SHA-256 digests. Proof generation from stored hashes is in
:mod:`proofdesk.ledger.tree`; the reference recursion over a list of leaves is here
(:func:`mth`, :func:`inclusion_path`, :func:`consistency_proof`) because tests and tools need
it and it is the specification written as code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from proofdesk.verify.errors import ProofError as ProofError  # re-exported: callers name it here

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``): where the RFC splits a tree."""
    if n < 2:
        raise ValueError("a tree of fewer than two leaves does not split")
    return 1 << ((n - 1).bit_length() - 1)


# --- the specification as code: recursion over the leaf hashes ------------------------------


def mth(hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (RFC 9162 §2.1.1)."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = split_point(n)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def inclusion_path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1)."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = split_point(n)
    if index < k:
        return [*inclusion_path(index, hashes[:k]), mth(hashes[k:])]
    return [*inclusion_path(index - k, hashes[k:]), mth(hashes[:k])]


def consistency_proof(first: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1) for ``0 < first <= n``."""
    n = len(hashes)
    if not 0 < first <= n:
        raise ProofError(f"no consistency proof from size {first} to size {n}")
    return _subproof(first, hashes, True)


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, hashes[:k], complete), mth(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), mth(hashes[:k])]


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not a {HASH_SIZE}-byte hash")


def _step(fn: int, sn: int) -> tuple[bool, int, int]:
    """One step up the path of both verification algorithms: whether the proof element is the
    left sibling, and ``fn``, ``sn`` after the step (the RFC's shifts, including skipping the
    levels where the node is the last, right-edge one)."""
    left = bool(fn & 1 or fn == sn)
    if left and not fn & 1:
        while True:
            fn >>= 1
            sn >>= 1
            if fn & 1 or fn == 0:
                break
    return left, fn >> 1, sn >> 1


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for leaf hash ``leaf`` at ``index`` in a tree of
    ``size``; :class:`ProofError` if the proof cannot be one for that position."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    _check_hash("leaf hash", leaf)
    for i, p in enumerate(proof):
        _check_hash(f"inclusion proof element {i}", p)
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        left, fn, sn = _step(fn, sn)
        r = node_hash(p, r) if left else node_hash(r, p)
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the
    tree of ``size`` with ``root``."""
    _check_hash("root", root)
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows that the tree of size ``second`` with
    ``second_root`` extends the tree of size ``first`` with ``first_root``.

    Beyond the RFC's algorithm, which starts from ``0 < first < second``: ``first == second``
    holds with an empty proof when the roots are equal; ``first == 0`` holds with an empty
    proof (every tree extends the empty one), and the empty root must be ``SHA-256("")``.
    Any other proof for those cases is refused, so a proof has one valid form.
    """
    _check_hash("first root", first_root)
    _check_hash("second root", second_root)
    for i, p in enumerate(proof):
        _check_hash(f"consistency proof element {i}", p)
    if not 0 <= first <= second:
        raise ProofError(f"first size {first} is not between 0 and second size {second}")
    if first == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if first_root != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is not SHA-256 of nothing")
        return
    if first == second:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("two trees of the same size have different roots")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # first is an exact power of two: its root starts the walk
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        left, fn, sn = _step(fn, sn)
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != first_root:
        raise ProofError(f"consistency proof does not lead to the root of size {first}")
    if sr != second_root:
        raise ProofError(f"consistency proof does not lead to the root of size {second}")
