"""C2SP tlog-cosignature v1: the signed message, key id, vkey and line against vectors made
from the spec's formulas without our code (``tests/vectors/c2sp/cosignature_v1.json``)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.verify.cosignature import (
    Cosigner,
    CosignerKey,
    cosignatures,
    cosigned_message,
)
from proofdesk.verify.errors import NoteError
from proofdesk.verify.note import Checkpoint, Signer, sign_note, split_note
from tests.support import paths

V = json.loads((paths.VECTORS / "c2sp/cosignature_v1.json").read_text())
SPEC = V["spec_example"]
FIXED = V["fixed_key"]


def test_the_spec_example_message_and_line_layout() -> None:
    assert cosigned_message(SPEC["checkpoint"], SPEC["timestamp"]) == SPEC["message"].encode()
    line = SPEC["signature_line"]
    assert line.startswith("\u2014 witness.example.com/w1 ")
    raw = base64.b64decode(line.split(" ")[2])
    # key id (4) || u64 big-endian timestamp (8) || Ed25519 signature (64)
    assert len(raw) == 76
    assert raw[:4].hex() == SPEC["key_id_hex"]
    assert int.from_bytes(raw[4:12], "big") == SPEC["timestamp"]


def test_a_fixed_key_gives_the_vector_byte_for_byte() -> None:
    cosigner = Cosigner(FIXED["name"], bytes.fromhex(FIXED["seed_hex"]))
    assert cosigner.key.public_key.hex() == FIXED["public_key_hex"]
    assert cosigner.key.key_id.hex() == FIXED["key_id_hex"]
    assert cosigner.key.encode() == FIXED["vkey"]
    assert cosigned_message(FIXED["checkpoint"], FIXED["timestamp"]) == FIXED["message"].encode()
    signature = cosigner.cosign(FIXED["checkpoint"], FIXED["timestamp"])
    assert signature.line() == FIXED["signature_line"]
    assert (
        CosignerKey.parse(FIXED["vkey"]).timestamp_of(FIXED["checkpoint"], signature)
        == (FIXED["timestamp"])
    )
    assert Cosigner.parse(cosigner.encode()) == cosigner


def test_cosignatures_on_a_note_are_found_and_forgeries_refused() -> None:
    log = Signer.generate("example.com/log")
    text = Checkpoint("example.com/log", 5, b"\x07" * 32).text()
    w1, w2 = Cosigner.generate("w.example/1"), Cosigner.generate("w.example/2")
    note = sign_note(text, log) + w1.cosign(text, 1700000001).line()
    found = cosignatures(note, [w1.key, w2.key])
    assert found == {w1.key.encode(): 1700000001}
    # The log's own key (type 0x01) with the witness's name is not the witness's key (0x04).
    assert w1.key.key_id != Signer(w1.name, w1.seed).verifier.key_id
    _, sigs = split_note(note)
    forged = sigs[1].line().replace(sigs[1].line()[-10:-1], "AAAAAAAAA")
    with pytest.raises(NoteError):
        cosignatures(sign_note(text, log) + forged, [w1.key])
    # A cosignature of another checkpoint does not count for this one.
    other = w1.cosign(Checkpoint("example.com/log", 6, b"\x07" * 32).text(), 1700000001)
    with pytest.raises(NoteError):
        cosignatures(sign_note(text, log) + other.line(), [w1.key])


@given(st.integers(0, 2**63 - 1), st.binary(min_size=32, max_size=32))
def test_any_timestamp_round_trips(timestamp: int, root: bytes) -> None:
    cosigner = Cosigner("w.example/p", b"\x01" * 32)
    text = Checkpoint("o", 1, root).text()
    assert cosigner.key.timestamp_of(text, cosigner.cosign(text, timestamp)) == timestamp


@pytest.mark.parametrize("timestamp", [-1, 2**63])
def test_timestamps_out_of_range_are_refused(timestamp: int) -> None:
    with pytest.raises(NoteError):
        cosigned_message("o\n1\nAAAA\n", timestamp)


@pytest.mark.parametrize(
    "vkey",
    [
        FIXED["vkey"].replace("+BA", "+AQ"),  # type 0x01, not 0x04
        FIXED["vkey"].replace("e75f6532", "e75f6533"),
        "no-plus-signs",
        FIXED["vkey"][:-4],
    ],
)
def test_bad_witness_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        CosignerKey.parse(vkey)
