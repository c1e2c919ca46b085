"""RFC 9162 conformance: transparency-dev's vectors and the reference 8-leaf tree, checked
against proofdesk.verify.merkle, the stored tree and the negative probes derived from them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from proofdesk.ledger.tree import Tree, append_leaves
from proofdesk.verify.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_path,
    leaf_hash,
    mth,
    verify_consistency,
    verify_inclusion,
)
from tests.support import paths

VECTORS = json.loads((paths.VECTORS / "rfc9162/transparency-dev.json").read_text())
LEAVES = [leaf_hash(bytes.fromhex(h)) for h in VECTORS["leaves_hex"]]
ROOTS = [bytes.fromhex(h) for h in VECTORS["roots_hex"]]


def b64(items: list[str] | None) -> list[bytes]:
    return [base64.b64decode(x) for x in items or []]


def inclusion_case(v: dict[str, Any]) -> tuple[int, int, bytes, list[bytes], bytes]:
    return (
        v["leafIdx"],
        v["treeSize"],
        base64.b64decode(v["leafHash"]),
        b64(v["proof"]),
        base64.b64decode(v["root"]),
    )


def consistency_case(v: dict[str, Any]) -> tuple[int, int, bytes, bytes, list[bytes]]:
    return (
        v["size1"],
        v["size2"],
        base64.b64decode(v["root1"]),
        base64.b64decode(v["root2"]),
        b64(v["proof"]),
    )


def flip(h: bytes, bit: int = 4) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


class Nodes(dict[tuple[int, int], bytes]):
    def get_nodes(self, keys: Any) -> dict[tuple[int, int], bytes]:
        return {k: self[k] for k in keys if k in self}


def test_reference_tree_roots_and_proofs() -> None:
    assert mth([]) == EMPTY_ROOT
    for n in range(1, 9):
        assert mth(LEAVES[:n]) == ROOTS[n - 1]
        stored = Tree(Nodes(append_leaves(0, {}, LEAVES[:n])), n)
        assert stored.root() == ROOTS[n - 1]
        for i in range(n):
            assert stored.inclusion_proof(i, n) == inclusion_path(i, LEAVES[:n])
            verify_inclusion(i, n, LEAVES[i], stored.inclusion_proof(i, n), ROOTS[n - 1])
        for m in range(1, n):
            assert stored.consistency_proof(m, n) == consistency_proof(m, LEAVES[:n])
            verify_consistency(m, n, ROOTS[m - 1], ROOTS[n - 1], stored.consistency_proof(m, n))


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"{v['leafIdx']}@{v['treeSize']}"
)
def test_inclusion_vectors(vector: dict[str, Any]) -> None:
    index, size, leaf, proof, root = inclusion_case(vector)
    verify_inclusion(index, size, leaf, proof, root)
    assert inclusion_path(index, LEAVES[:size]) == proof
    probes = list(inclusion_probes(index, size, leaf, proof, root))
    assert len(probes) >= 9
    for name, probe in probes:
        assert refused(probe), f"probe {name!r} accepted"


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['size1']}-{v['size2']}"
)
def test_consistency_vectors(vector: dict[str, Any]) -> None:
    first, second, root1, root2, proof = consistency_case(vector)
    verify_consistency(first, second, root1, root2, proof)
    if first < second:
        assert consistency_proof(first, LEAVES[:second]) == proof
    probes = list(consistency_probes(first, second, root1, root2, proof))
    assert len(probes) >= 9
    for name, probe in probes:
        assert refused(probe), f"probe {name!r} accepted"


Probe = tuple[str, Callable[[], None]]


def refused(probe: Callable[[], None]) -> bool:
    try:
        probe()
    except ProofError:
        return True
    return False


def inclusion_probes(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> Iterator[Probe]:
    def v(
        i: int = index, n: int = size, lf: bytes = leaf, p: list[bytes] = proof, r: bytes = root
    ) -> Callable[[], None]:
        return lambda: verify_inclusion(i, n, lf, p, r)

    garbage = leaf_hash(b"garbage")
    for i in {index + 1, index - 1, index ^ 2, size}:
        if i != index and (i < 0 or i >= size or inclusion_path_or_none(i, size) != proof):
            yield f"index {i}", v(i=i)
    # Not size + 1: a root does not fix its tree size (the signed checkpoint does), and some
    # proofs have the same shape in a tree one larger.
    for n in {size * 2, size // 2}:
        if n != size:
            yield f"size {n}", v(n=n)
    yield "wrong leaf", v(lf=flip(leaf))
    yield "empty root", v(r=EMPTY_ROOT)
    yield "random root", v(r=garbage)
    yield "preceding garbage", v(p=[garbage, *proof])
    yield "trailing garbage", v(p=[*proof, garbage])
    yield "preceding root", v(p=[root, *proof])
    yield "trailing root", v(p=[*proof, root])
    for k in range(len(proof)):
        yield f"proof[{k}] bit", v(p=[*proof[:k], flip(proof[k]), *proof[k + 1 :]])
        yield f"proof[{k}] removed", v(p=proof[:k] + proof[k + 1 :])
    yield "short hash", v(p=[*proof[:-1], proof[-1][:31]] if proof else [b"x"])


def inclusion_path_or_none(index: int, size: int) -> list[bytes] | None:
    return inclusion_path(index, LEAVES[:size]) if size <= len(LEAVES) else None


def consistency_probes(
    first: int, second: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> Iterator[Probe]:
    def v(
        m: int = first,
        n: int = second,
        r1: bytes = root1,
        r2: bytes = root2,
        p: list[bytes] = proof,
    ) -> Callable[[], None]:
        return lambda: verify_consistency(m, n, r1, r2, p)

    garbage = leaf_hash(b"garbage")
    for m in {first + 1, first - 1, first ^ 2}:
        if m != first and m >= 0:
            yield f"size1 {m}", v(m=m)
    for n in {second * 2, second // 2}:
        if n != second:
            yield f"size2 {n}", v(n=n)
    yield "wrong root1", v(r1=flip(root1))
    yield "wrong root2", v(r2=flip(root2))
    if root1 != root2:
        yield "swapped roots", v(r1=root2, r2=root1)
    yield "preceding garbage", v(p=[garbage, *proof])
    yield "trailing garbage", v(p=[*proof, garbage])
    yield "preceding root1", v(p=[root1, *proof])
    yield "trailing root2", v(p=[*proof, root2])
    if proof:
        yield "empty proof", v(p=[])
        yield "truncated proof", v(p=proof[:-1])
    for k in range(len(proof)):
        yield f"proof[{k}] bit", v(p=[*proof[:k], flip(proof[k]), *proof[k + 1 :]])


@pytest.mark.parametrize("vector", VECTORS["inclusion_negative"], ids=lambda v: v["file"])
def test_inclusion_negative_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(*inclusion_case(vector))


@pytest.mark.parametrize("vector", VECTORS["consistency_negative"], ids=lambda v: v["file"])
def test_consistency_negative_vectors(vector: dict[str, Any]) -> None:
    first, second, root1, root2, proof = consistency_case(vector)
    with pytest.raises(ProofError):
        verify_consistency(first, second, root1, root2, proof)
