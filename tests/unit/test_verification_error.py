"""Every way evidence can fail to check out raises one VerificationError, never a ValueError."""

from __future__ import annotations

from typing import Any

import pytest

from proofdesk.verify.errors import NoteError, ProofError, VerificationError
from proofdesk.verify.merkle import leaf_hash, verify_inclusion
from proofdesk.verify.note import Checkpoint, Signer, Verifier, open_checkpoint
from proofdesk.verify.receipt import RECEIPT_FORMAT, parse_leaf, verify_receipt


def test_proof_and_note_errors_are_verification_errors_and_not_value_errors() -> None:
    for kind in (ProofError, NoteError):
        assert issubclass(kind, VerificationError)
        assert not issubclass(kind, ValueError)


def test_a_bad_proof_raises_a_verification_error() -> None:
    with pytest.raises(VerificationError, match="not below tree size"):
        verify_inclusion(3, 2, leaf_hash(b"a"), [], leaf_hash(b"a"))


@pytest.mark.parametrize("text", ["", "no-plus-signs", "a+00000000+!!!"])
def test_a_bad_key_raises_a_verification_error(text: str) -> None:
    with pytest.raises(VerificationError):
        Verifier.parse(text)


def test_a_bad_checkpoint_raises_a_verification_error() -> None:
    signer = Signer.generate("example.com/log")
    with pytest.raises(VerificationError, match="no blank line before its signatures"):
        open_checkpoint("example.com/log\n1\n" + "A" * 44 + "\n", signer.verifier)
    with pytest.raises(VerificationError, match="origin, a size and a root"):
        Checkpoint.parse("example.com/log\n")


@pytest.mark.parametrize("record", ["not json", "[]", '{"v": 1}'])
def test_a_malformed_leaf_record_raises_a_verification_error(record: str) -> None:
    with pytest.raises(VerificationError, match="leaf record"):
        parse_leaf(record)


@pytest.mark.parametrize(
    "receipt",
    [
        None,
        [],
        {},
        {"format": "other"},
        {"format": RECEIPT_FORMAT},
        {"format": RECEIPT_FORMAT, "log": {}},
    ],
)
def test_a_malformed_receipt_is_a_finding_not_an_exception(receipt: Any) -> None:
    report = verify_receipt(receipt)
    assert report.failures
    assert not report.ok
