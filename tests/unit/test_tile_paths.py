"""C2SP tlog-tiles paths: the index encoding, the partial widths of a tree, and every path that
is not in the spec's exact encoding refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.ledger.tiles import BadTilePath, TileRef, encode_index, parse_tile_path, tile_widths


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_encoding_follows_the_spec(index: int, path: str) -> None:
    assert encode_index(index) == path


def test_partial_widths_of_the_specs_examples() -> None:
    # "a tree of size 70,000 … partial level 0 tile of width 112, … partial level 1 tile of
    # width 17, and one partial level 2 tile of width 1"; "a tree of size 256 … a partial
    # level 1 tile of width 1".
    assert tile_widths(70_000) == {0: 112, 1: 17, 2: 1}
    assert tile_widths(256) == {1: 1}
    assert tile_widths(0) == {}


@given(
    st.one_of(st.none(), st.integers(0, 63)),
    st.integers(0, 10**12),
    st.one_of(st.none(), st.integers(1, 255)),
)
def test_paths_round_trip(level: int | None, index: int, width: int | None) -> None:
    ref = TileRef(level, index, width)
    assert parse_tile_path(ref.path().removeprefix("tile/")) == ref


@pytest.mark.parametrize(
    "path",
    [
        "",
        "0",
        "0/",
        "0/5",
        "0/0005",
        "0/x000/005",  # a leading zero element
        "0/001/002",  # only the last element lacks the x
        "0/x001",
        "00/000",
        "64/000",
        "-1/000",
        "data/000",
        "0/000.p",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/01",
        "0/000.p/5/6",
        "entries/x001",
        "entries/000.p/",
    ],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(BadTilePath):
        parse_tile_path(path)
