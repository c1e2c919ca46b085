"""The epoch's Merkle tree, as ``RewardDistributor`` checks it.

The convention is Uniswap's merkle-distributor and OpenZeppelin's ``MerkleProof``: a leaf is
``keccak256(abi.encode(uint256 index, address account, uint256 amount))``, a parent is the
keccak of its two children in ascending byte order (sorted pairs, so a proof needs no
left/right flags), and an odd node at the end of a layer moves up unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak


@dataclass(frozen=True)
class Leaf:
    index: int
    account: str  # a checksummed address
    amount: int


def leaf_hash(leaf: Leaf) -> bytes:
    return keccak(
        encode(["uint256", "address", "uint256"], [leaf.index, leaf.account, leaf.amount])
    )


def parent(a: bytes, b: bytes) -> bytes:
    return keccak(a + b if a <= b else b + a)


def leaves(amounts: dict[str, int]) -> list[Leaf]:
    """One leaf per account with a positive amount, indexed in address order."""
    ordered = sorted((to_checksum_address(a), n) for a, n in amounts.items() if n > 0)
    return [Leaf(index=i, account=a, amount=n) for i, (a, n) in enumerate(ordered)]


def layers(hashes: list[bytes]) -> list[list[bytes]]:
    if not hashes:
        return [[b"\x00" * 32]]
    out = [hashes]
    while len(out[-1]) > 1:
        layer = out[-1]
        out.append(
            [
                parent(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i]
                for i in range(0, len(layer), 2)
            ]
        )
    return out


def root(tree_leaves: list[Leaf]) -> bytes:
    return layers([leaf_hash(leaf) for leaf in tree_leaves])[-1][0]


def proof(tree_leaves: list[Leaf], index: int) -> list[bytes]:
    """The sibling hashes from leaf ``index`` up to the root."""
    if not 0 <= index < len(tree_leaves):
        raise IndexError(index)
    path = []
    for layer in layers([leaf_hash(leaf) for leaf in tree_leaves])[:-1]:
        sibling = index ^ 1
        if sibling < len(layer):
            path.append(layer[sibling])
        index //= 2
    return path


def verify(tree_root: bytes, leaf: Leaf, path: list[bytes]) -> bool:
    node = leaf_hash(leaf)
    for sibling in path:
        node = parent(node, sibling)
    return node == tree_root
