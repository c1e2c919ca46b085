"""The log as C2SP tlog-tiles: tiles of stored hashes and bundles of leaf records.

Tile ``N`` at level ``L`` holds the Merkle Tree Hashes of tree level ``8 * L``, nodes
``N * 256`` to ``N * 256 + 255`` (tlog-tiles, "Merkle Tree"): exactly the complete subtrees
``merkle_nodes`` already stores, so a tile is one range query and nothing new is stored. A tile
is *full* with 256 hashes; the rightmost tiles of a level are *partial* (``.p/<W>``, 1 to 255
hashes). The first ``W`` hashes of a tile never change once the tree covers them, so any
partial width the tree covers is served, not only those of signed sizes.

An entry bundle holds, for each leaf, the UTF-8 bytes of its leaf record (the canonical JSON
that :func:`proofdesk.verify.merkle.leaf_hash` hashes) behind a big-endian uint16 length: the
entry hashes to the level-0 tile's hash as the spec requires.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.errors import InvalidInput, NotFound
from proofdesk.ledger.tree import Key, LedgerError
from proofdesk.store.models import LedgerLeaf, MerkleNode
from proofdesk.verify.merkle import mth

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes in a full tile
MAX_LEVEL = 63
MAX_ENTRY = 0xFFFF  # an entry's length is a uint16
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_ELEMENT = re.compile(r"x?[0-9]{3}")


class BadTilePath(InvalidInput):
    code = "invalid_tile_path"
    http_status = 400


class NoSuchTile(NotFound):
    code = "no_such_tile"


@dataclass(frozen=True)
class TileRef:
    """A tile (``level`` 0…63) or, with ``level`` None, an entry bundle; ``width`` None for a
    full one."""

    level: int | None
    index: int
    width: int | None

    @property
    def full(self) -> bool:
        return self.width is None

    @property
    def count(self) -> int:
        return TILE_WIDTH if self.width is None else self.width

    def path(self) -> str:
        head = "entries" if self.level is None else str(self.level)
        tail = "" if self.width is None else f".p/{self.width}"
        return f"tile/{head}/{encode_index(self.index)}{tail}"


def encode_index(n: int) -> str:
    """``N`` as zero-padded 3-digit path elements, all but the last prefixed ``x``
    (1234067 → ``x001/x234/067``)."""
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def parse_tile_path(path: str) -> TileRef:
    """The tile named by ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (the part after
    ``tile/``); :class:`BadTilePath` for anything not in the spec's exact encoding."""
    parts = path.split("/")
    width: int | None = None
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or int(parts[-1]) >= TILE_WIDTH:
            raise BadTilePath(f"partial tile width {parts[-1]!r} is not 1 to 255")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    if len(parts) < 2:
        raise BadTilePath("a tile path reads <L>/<N>[.p/<W>] or entries/<N>[.p/<W>]")
    head, elements = parts[0], parts[1:]
    level: int | None
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise BadTilePath(f"tile level {head!r} is not 0 to 63")
    if not all(_ELEMENT.fullmatch(e) for e in elements) or any(
        e.startswith("x") != (i < len(elements) - 1) for i, e in enumerate(elements)
    ):
        raise BadTilePath("a tile index is 3-digit elements, all but the last starting with x")
    index = int("".join(e.lstrip("x") for e in elements))
    if encode_index(index) != "/".join(elements):  # no leading x000 elements
        raise BadTilePath("a tile index must not have leading zero elements")
    return TileRef(level, index, width)


def covered(ref: TileRef, size: int) -> bool:
    """Whether a tree of ``size`` leaves holds every hash (or entry) of ``ref``."""
    level = 0 if ref.level is None else ref.level
    return (ref.index * TILE_WIDTH + ref.count) << (TILE_HEIGHT * level) <= size


def tile_widths(size: int) -> dict[int, int]:
    """Level → width of the partial tile a tree of ``size`` has there (levels without one are
    absent): ``floor(size / 256**L) mod 256``."""
    out = {}
    level = 0
    while size >> (TILE_HEIGHT * level):
        width = (size >> (TILE_HEIGHT * level)) % TILE_WIDTH
        if width:
            out[level] = width
        level += 1
    return out


def read_tile(session: Session, ref: TileRef, size: int) -> bytes:
    """The bytes of a hash tile (``ref.level`` set) or an entry bundle, within ``size``."""
    if not covered(ref, size):
        raise NoSuchTile(f"{ref.path()} is beyond the tree of size {size}")
    first = ref.index * TILE_WIDTH
    if ref.level is None:
        return _bundle(session, first, ref.count)
    level = TILE_HEIGHT * ref.level
    hashes = session.execute(
        select(MerkleNode.idx, MerkleNode.hash)
        .where(MerkleNode.level == level, MerkleNode.idx >= first)
        .where(MerkleNode.idx < first + ref.count)
        .order_by(MerkleNode.idx)
    ).all()
    if [idx for idx, _ in hashes] != list(range(first, first + ref.count)):
        raise LedgerError(f"tree nodes of {ref.path()} are missing (run `proofdesk audit`)")
    return b"".join(bytes(h) for _, h in hashes)


def _bundle(session: Session, first: int, count: int) -> bytes:
    rows = session.execute(
        select(LedgerLeaf.seq, LedgerLeaf.record)
        .where(LedgerLeaf.seq >= first, LedgerLeaf.seq < first + count)
        .order_by(LedgerLeaf.seq)
    ).all()
    if [seq for seq, _ in rows] != list(range(first, first + count)):
        raise LedgerError(f"leaves {first}…{first + count - 1} are missing")
    out = bytearray()
    for seq, record in rows:
        raw = record.encode()
        if len(raw) > MAX_ENTRY:
            raise LedgerError(f"leaf {seq} is longer than an entry bundle can carry")
        out += struct.pack(">H", len(raw)) + raw
    return bytes(out)


class TileNodes:
    """:class:`~proofdesk.ledger.tree.NodeReader` over a tiled log of ``size`` leaves, for a
    monitor reading someone else's log: a stored subtree of level ``8·L + r`` is the Merkle
    hash of ``2**r`` consecutive hashes of a level-``L`` tile. ``fetch`` gets a tile's bytes
    by its path (``tile/…``); tiles are read once each."""

    def __init__(self, fetch: Callable[[str], bytes], size: int) -> None:
        self.fetch, self.size = fetch, size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def _tile(self, level: int, index: int) -> list[bytes]:
        if (level, index) not in self._tiles:
            full = (index + 1) << (TILE_HEIGHT * (level + 1)) <= self.size
            width = None if full else (self.size >> (TILE_HEIGHT * level)) - index * TILE_WIDTH
            ref = TileRef(level, index, width)
            if not 0 < ref.count <= TILE_WIDTH:
                raise LedgerError(f"{ref.path()} is beyond the tree of size {self.size}")
            data = self.fetch(ref.path())
            if len(data) != 32 * ref.count:
                raise LedgerError(f"{ref.path()} has {len(data)} bytes, not {32 * ref.count}")
            self._tiles[(level, index)] = [data[i : i + 32] for i in range(0, len(data), 32)]
        return self._tiles[(level, index)]

    def get_nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        out = {}
        for level, idx in keys:
            tile_level, rise = divmod(level, TILE_HEIGHT)
            first = idx << rise  # the first hash of tile level 8·L under this node
            hashes = self._tile(tile_level, first // TILE_WIDTH)
            start = first % TILE_WIDTH
            out[(level, idx)] = mth(hashes[start : start + (1 << rise)])
        return out
