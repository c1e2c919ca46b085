"""C2SP signed notes and tlog checkpoints: real-world vectors, mutations, round trips."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.verify.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    open_note,
    sign_note,
    split_note,
)
from tests.support import paths

V = json.loads((paths.VECTORS / "c2sp/notes.json").read_text())
GO = V["go_note_example"]
SUMDB = V["go_sumdb_checkpoint"]
SUMDB_NOTE = base64.b64decode(SUMDB["signed_note_base64"]).decode()


def test_go_note_example() -> None:
    signer = Signer.parse(GO["signer_key"])
    verifier = Verifier.parse(GO["verifier_key"])
    assert signer.verifier == verifier
    assert signer.encode() == GO["signer_key"]
    assert verifier.encode() == GO["verifier_key"]
    assert sign_note(GO["text"], signer) == GO["signed_note"]
    assert open_note(GO["signed_note"], verifier) == GO["text"]


def test_go_checksum_database_checkpoint() -> None:
    verifier = Verifier.parse(SUMDB["verifier_key"])
    assert verifier.encode() == SUMDB["verifier_key"]
    cp = open_checkpoint(SUMDB_NOTE, verifier, origin=SUMDB["origin"])
    assert (cp.size, cp.root) == (SUMDB["size"], base64.b64decode(SUMDB["root_base64"]))
    assert cp.text() + "\n" == SUMDB_NOTE.split("\n\n")[0] + "\n\n"
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(SUMDB_NOTE, verifier)  # the key's name is not this log's origin


def test_other_signatures_are_ignored_but_a_bad_one_of_ours_is_not() -> None:
    ours, witness = Signer.generate("log.example/a"), Signer.generate("witness.example")
    text = Checkpoint("log.example/a", 5, bytes(32)).text()
    note = sign_note(text, ours, witness)
    assert open_note(note, ours.verifier) == text
    assert open_note(note, witness.verifier) == text
    # A corrupted signature by our key fails even beside a valid one by another key.
    lines = note.split("\n")
    mine = next(i for i, line in enumerate(lines) if line.startswith("\u2014 log.example/a "))
    blob = bytearray(base64.b64decode(lines[mine].split(" ")[2]))
    blob[10] ^= 1
    lines[mine] = f"\u2014 log.example/a {base64.b64encode(bytes(blob)).decode()}"
    with pytest.raises(NoteError, match="does not verify"):
        open_note("\n".join(lines), ours.verifier)
    assert open_note("\n".join(lines), witness.verifier) == text
    with pytest.raises(NoteError, match="not signed by"):
        open_note(note, Signer.generate("log.example/a").verifier)  # same name, other key


GOOD = GO["signed_note"]


@pytest.mark.parametrize(
    ("note", "why"),
    [
        (GOOD.replace("cryptography", "cryptographY"), "does not verify"),
        (GOOD.replace("x08go", "x08gp"), "not signed by"),  # the key id bytes
        (GOOD.replace("ZInNIuGU", "ZInNIuGV"), "does not verify"),
        (GOOD[:-1], "newline"),
        (GOOD.replace("\n\n", "\n"), "blank line"),
        (GO["text"] + "\n", "does not end with a newline|no signatures"),
        (GOOD.replace("\u2014 ", "- "), "malformed signature line"),
        (GOOD.replace("PeterNeumann x08", "PeterNeumann  x08"), "malformed"),
        (GOOD.replace("x08go/", "x08go*"), "base64"),
        (GOOD.replace("answer", "ans\x07wer"), "control character"),
        (GOOD.replace("PeterNeumann x08", "Peter+Neumann x08"), "key name"),
        (
            GOOD.replace(
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
                "AAAA",
            ),
            "too short",
        ),
    ],
)
def test_bad_notes_are_refused(note: str, why: str) -> None:
    with pytest.raises(NoteError, match=why):
        open_note(note, Verifier.parse(GO["verifier_key"]))


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong name
        "PeterNeumann+c74f20a3+AhpcQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # bad key
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(key)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n01\n" + "A" * 43 + "=\n",
        "origin\n-1\n" + "A" * 43 + "=\n",
        "origin\n1e3\n" + "A" * 43 + "=\n",
        "origin\n" + "9" * 20 + "\n" + "A" * 43 + "=\n",
        "origin\n12\nAAAA\n",
        "origin\n12\n",
        "\n12\n" + "A" * 43 + "=\n",
        "origin\n12\n" + "A" * 43 + "=\n\n",
        "origin\n12\n" + "A" * 43 + "=",
    ],
)
def test_bad_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_characters="+"),
    min_size=1,
    max_size=30,
).filter(lambda s: all(c.isprintable() and not c.isspace() for c in s))
lines = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_characters="\n"),
    min_size=1,
    max_size=40,
).filter(lambda s: all(c.isprintable() for c in s))


@settings(max_examples=60, deadline=None)
@given(names, st.lists(lines, min_size=1, max_size=5))
def test_sign_and_open_round_trip(name: str, body: list[str]) -> None:
    signer = Signer.generate(name)
    text = "".join(f"{line}\n" for line in body)
    note = sign_note(text, signer)
    assert open_note(note, signer.verifier) == text
    assert Verifier.parse(signer.verifier.encode()) == signer.verifier
    assert split_note(note)[0] == text


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**63 - 1), st.binary(min_size=32, max_size=32), st.data())
def test_checkpoint_mutations_never_open(size: int, root: bytes, data: st.DataObject) -> None:
    signer = Signer.generate("log.example/p")
    cp = Checkpoint("log.example/p", size, root)
    assert Checkpoint.parse(cp.text()) == cp
    note = sign_note(cp.text(), signer)
    i = data.draw(st.integers(0, len(note) - 1))
    replacement = data.draw(st.sampled_from("0123456789abcXYZ+/=\n \u2014"))
    mutated = note[:i] + replacement + note[i + 1 :]
    if mutated == note:
        return
    try:
        opened = open_checkpoint(mutated, signer.verifier)
    except NoteError:
        return
    # Only a change outside the signed text and the signature itself can still open — and
    # then it must say exactly what was signed.
    assert opened == cp
