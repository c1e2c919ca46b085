"""The log served as C2SP tlog-tiles over HTTP: tiles are the stored hashes, entry bundles
hash to them, full tiles are immutable, partial tiles are short-cached, and a tile the tree
does not cover yet is a 404 while a malformed path is a 400."""

from __future__ import annotations

import struct

from fastapi.testclient import TestClient

from proofdesk.ledger.store import tree
from proofdesk.ledger.tiles import TileNodes, encode_index
from proofdesk.ledger.tree import Tree
from proofdesk.store.db import Database
from proofdesk.verify.merkle import leaf_hash
from tests.support.tenants import Tenant, new_ticket

PREFIX = "/api/v1/log"


def grow_to(client: TestClient, db: Database, tenant: Tenant, size: int) -> int:
    with db.reader() as session:
        now = tree(session).size
    while now < size:
        new_ticket(client, tenant.customer)
        with db.reader() as session:
            now = tree(session).size
    return now


def bundle_entries(data: bytes) -> list[bytes]:
    out = []
    while data:
        (n,) = struct.unpack(">H", data[:2])
        out.append(data[2 : 2 + n])
        data = data[2 + n :]
    return out


def test_tiles_hold_the_stored_hashes(client: TestClient, db: Database, tenant: Tenant) -> None:
    size = grow_to(client, db, tenant, 300)
    with db.reader() as session:
        t = tree(session, size)
        leaves = [t.leaf_hash(i) for i in range(256)]
        subtree = t.root(256)

    full = client.get(f"{PREFIX}/tile/0/000")
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert full.content == b"".join(leaves)

    bundle = client.get(f"{PREFIX}/tile/entries/000")
    assert bundle.status_code == 200
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert [leaf_hash(e) for e in bundle_entries(bundle.content)] == leaves

    # Level 1 hash 0 is the Merkle Tree Hash of the first full level-0 tile.
    level1 = client.get(f"{PREFIX}/tile/1/000.p/1")
    assert level1.status_code == 200
    assert level1.content == subtree
    assert level1.headers["cache-control"] == "public, max-age=10"

    partial = client.get(f"{PREFIX}/tile/0/000.p/7")
    assert partial.content == full.content[: 7 * 32]
    entries = client.get(f"{PREFIX}/tile/entries/000.p/7")
    assert bundle_entries(entries.content) == bundle_entries(bundle.content)[:7]


def test_tiles_beyond_the_tree_are_not_found(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    size = grow_to(client, db, tenant, 1)
    last = encode_index(size // 256)
    for path in (
        f"0/{encode_index(size // 256 + 1)}",
        f"0/{last}.p/{size % 256 + 1}" if size % 256 < 255 else "0/x001/000",
        f"entries/{encode_index(size // 256 + 1)}",
        "2/000",
        "63/x999/x999/x999/999",
    ):
        r = client.get(f"{PREFIX}/tile/{path}")
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "no_such_tile"


def test_malformed_tile_paths_are_bad_requests(client: TestClient) -> None:
    for path in ("0/5", "0/x000/001", "64/000", "0/000.p/256", "0/000.p/0", "x/000"):
        r = client.get(f"{PREFIX}/tile/{path}")
        assert r.status_code == 400, path
        assert r.json()["error"]["code"] == "invalid_tile_path"


def test_checkpoint_at_the_tiles_prefix_is_short_cached(client: TestClient) -> None:
    r = client.get(f"{PREFIX}/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=2"


def test_a_reader_of_tiles_gets_the_same_roots_and_proofs(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    """What a monitor computes from the tiles alone is what the stored tree says."""
    size = grow_to(client, db, tenant, 300)

    def fetch(path: str) -> bytes:
        r = client.get(f"{PREFIX}/{path}")
        assert r.status_code == 200, path
        return r.content

    with db.reader() as session:
        stored = tree(session, size)
        for old in (1, 7, 255, 256, 257, size - 1):
            tiled = Tree(TileNodes(fetch, size), size)
            assert tiled.root(size) == stored.root(size)
            assert tiled.root(old) == stored.root(old)
            assert tiled.consistency_proof(old, size) == stored.consistency_proof(old, size)
