"""The stored tree (ledger.tree) against the RFC's recursion (verify.merkle), in memory and in
the database: same roots, same proofs, for every size, index and pair."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.ledger.store import SqlNodes
from proofdesk.ledger.tree import Key, Tree, append_leaves, frontier, pieces
from proofdesk.store.db import Database
from proofdesk.store.models import MerkleNode
from proofdesk.verify import merkle as m
from tests.support.tenants import Tenant, new_ticket


class Nodes(dict[Key, bytes]):
    def get_nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        return {k: self[k] for k in keys if k in self}


def leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [m.leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


def grow(hashes: list[bytes], one_by_one: bool = True) -> Nodes:
    nodes = Nodes()
    if one_by_one:
        for i, h in enumerate(hashes):
            known = nodes.get_nodes(frontier(i))
            nodes.update(append_leaves(i, known, [h]))
    else:
        nodes.update(append_leaves(0, {}, hashes))
    return nodes


def test_every_size_index_and_pair_up_to_70() -> None:
    hashes = leaves(70)
    nodes = grow(hashes)
    assert len(nodes) == 2 * 70 - (70).bit_count()
    assert nodes == grow(hashes, one_by_one=False)
    for n in range(0, 71):
        t = Tree(nodes, n)
        assert t.root() == m.mth(hashes[:n])
        for i in range(n):
            proof = t.inclusion_proof(i, n)
            assert proof == m.inclusion_path(i, hashes[:n])
            m.verify_inclusion(i, n, hashes[i], proof, t.root())
        for first in range(1, n + 1):
            proof = t.consistency_proof(first, n)
            if first < n:
                assert proof == m.consistency_proof(first, hashes[:n])
            else:
                assert proof == []
            m.verify_consistency(first, n, m.mth(hashes[:first]), t.root(), proof)
        assert t.consistency_proof(0, n) == []


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_large_trees_match_the_reference(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 3000), label="size")
    hashes = leaves(n, b"big")
    nodes = grow(hashes, one_by_one=False)
    size = data.draw(st.integers(1, n), label="tree size")
    t = Tree(nodes, n)
    for _ in range(5):
        i = data.draw(st.integers(0, size - 1), label="index")
        proof = t.inclusion_proof(i, size)
        assert len(proof) <= size.bit_length()
        m.verify_inclusion(i, size, hashes[i], proof, t.root(size))
        first = data.draw(st.integers(1, size), label="first")
        m.verify_consistency(
            first, size, t.root(first), t.root(size), t.consistency_proof(first, size)
        )


@given(st.integers(0, 2**40), st.integers(0, 2**20))
def test_pieces_are_aligned_complete_subtrees(begin: int, length: int) -> None:
    keys = pieces(begin, begin + length)
    covered = begin
    for level, idx in keys:
        assert idx << level == covered
        covered += 1 << level
    assert covered == begin + length
    assert len(keys) <= 2 * max(1, length.bit_length())


def test_a_proof_reads_few_stored_hashes() -> None:
    hashes = leaves(5000)
    nodes = grow(hashes, one_by_one=False)
    reads: list[int] = []

    class Counting(Nodes):
        def get_nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
            wanted = list(keys)
            reads.append(len(wanted))
            return super().get_nodes(wanted)

    t = Tree(Counting(nodes), 5000)
    for i in (0, 1, 2047, 4095, 4999):
        t.inclusion_proof(i, 5000)
    t.consistency_proof(1234, 5000)
    assert max(reads) <= 2 * (5000).bit_length()


def test_stored_tree_in_the_database(db: Database, client: TestClient, tenant: Tenant) -> None:
    """SqlNodes answers what the dict answers (the live log's own nodes are compared)."""
    for _ in range(3):
        new_ticket(client, tenant.customer)
    with db.reader() as session:
        from proofdesk.ledger.store import log_size

        size = log_size(session)
        stored = Nodes(
            {
                (level, idx): h
                for level, idx, h in session.execute(
                    MerkleNode.__table__.select().with_only_columns(
                        MerkleNode.level, MerkleNode.idx, MerkleNode.hash
                    )
                )
            }
        )
        sql = Tree(SqlNodes(session), size)
        mem = Tree(stored, size)
        assert sql.root() == mem.root()
        assert size >= 6
        for i in {0, size // 2, size - 1}:
            assert sql.inclusion_proof(i, size) == mem.inclusion_proof(i, size)
        assert len(stored) == 2 * size - size.bit_count()
        level0 = sorted(idx for level, idx in stored if level == 0)
        assert level0 == list(range(size))
        assert hashlib.sha256(b"").digest() == m.EMPTY_ROOT
