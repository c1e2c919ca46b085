"""The stored Merkle tree: complete subtrees, appended in O(log n), proofs from O(log n) hashes.

Node ``(level, index)`` is the hash of the complete subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Appending leaf
``n`` stores it and every subtree it completes (one more node on average). Every range the
RFC's recursion visits starts at a multiple of a power of two at least as large as the range,
so it splits, left to right, into at most ``log2 n`` stored subtrees of decreasing size, and its
hash is their right fold. A root or proof therefore reads O(log n) stored nodes, in one query,
and nothing recomputes the tree from the leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from proofdesk.errors import IntegrityFailure
from proofdesk.verify.merkle import EMPTY_ROOT, ProofError, node_hash, split_point

Key = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [begin, end)


class LedgerError(IntegrityFailure):
    """The stored log is not what it should be (a missing node or secret, a fork it will not
    sign): a 500 with this message in the API, exit 2 with it in the CLI."""


class NodeReader(Protocol):
    def get_nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]: ...


def pieces(begin: int, end: int) -> list[Key]:
    """The stored subtrees that make up ``[begin, end)``, largest first."""
    keys = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        while begin & ((1 << level) - 1):
            level -= 1
        keys.append((level, begin >> level))
        begin += 1 << level
    return keys


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    out: list[Range] = []
    begin, end = 0, size
    while end - begin > 1:
        k = split_point(end - begin)
        if index < begin + k:
            out.append((begin + k, end))
            end = begin + k
        else:
            out.append((begin, begin + k))
            begin += k
    out.reverse()
    return out


def consistency_ranges(first: int, size: int) -> list[Range]:
    """The ranges whose hashes form PROOF(first, D[size]) for ``0 < first <= size``."""
    if not 0 < first <= size:
        raise ProofError(f"no consistency proof from size {first} to size {size}")
    out: list[Range] = []
    begin, end, m, complete = 0, size, first, True
    while True:
        n = end - begin
        if m == n:
            if not complete:
                out.append((begin, end))
            break
        k = split_point(n)
        if m <= k:
            out.append((begin + k, end))
            end = begin + k
        else:
            out.append((begin, begin + k))
            begin, m, complete = begin + k, m - k, False
    out.reverse()
    return out


def fold(keys: Sequence[Key], nodes: dict[Key, bytes]) -> bytes:
    """The hash of a range from its :func:`pieces` (the empty range's is the empty root)."""
    if not keys:
        return EMPTY_ROOT
    try:
        acc = nodes[keys[-1]]
        for key in reversed(keys[:-1]):
            acc = node_hash(nodes[key], acc)
    except KeyError as missing:
        raise LedgerError(f"tree node {missing.args[0]} is missing") from None
    return acc


class Tree:
    """Roots and proofs of any tree size up to the stored one."""

    def __init__(self, reader: NodeReader, size: int) -> None:
        self.reader = reader
        self.size = size

    def _check(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond the log's size {self.size}")

    def _hashes(self, ranges: Sequence[Range]) -> list[bytes]:
        split = [pieces(b, e) for b, e in ranges]
        nodes = self.reader.get_nodes({key for keys in split for key in keys})
        return [fold(keys, nodes) for keys in split]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check(size)
        return EMPTY_ROOT if size == 0 else self._hashes([(0, size)])[0]

    def leaf_hash(self, index: int) -> bytes:
        self._check(index + 1)
        return self._hashes([(index, index + 1)])[0]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check(size)
        return self._hashes(inclusion_ranges(index, size))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[second]); empty for ``first == 0`` or ``first == second`` (see
        :func:`proofdesk.verify.merkle.verify_consistency`)."""
        self._check(second)
        if not 0 <= first <= second:
            raise ProofError(f"first size {first} is not between 0 and second size {second}")
        if first in (0, second):
            return []
        return self._hashes(consistency_ranges(first, second))


def frontier(size: int) -> list[Key]:
    """The stored subtrees an append to a tree of ``size`` may pair with (its compact range)."""
    return pieces(0, size)


def append_leaves(
    size: int, known: dict[Key, bytes], leaf_hashes: Iterable[bytes]
) -> list[tuple[Key, bytes]]:
    """The nodes to store when ``leaf_hashes`` are appended to a tree of ``size``.

    ``known`` must hold the nodes of :func:`frontier` ``(size)``; it is updated in place so
    that a caller can go on appending.
    """
    new: list[tuple[Key, bytes]] = []
    for h in leaf_hashes:
        level, index = 0, size
        new.append(((0, index), h))
        known[(0, index)] = h
        while index & 1:
            try:
                left = known[(level, index - 1)]
            except KeyError:
                raise LedgerError(f"tree node {(level, index - 1)} is missing") from None
            h = node_hash(left, h)
            level, index = level + 1, index >> 1
            new.append(((level, index), h))
            known[(level, index)] = h
        size += 1
    return new
