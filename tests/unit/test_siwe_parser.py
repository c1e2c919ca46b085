"""The EIP-4361 parser against the public vectors, and properties of its strictness."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.identity.siwe import (
    SiweError,
    SiweMessage,
    SiweRejected,
    parse,
    recover_personal,
    signature_bytes,
)
from tests.support import paths

VECTORS = paths.VECTORS / "eip4361"
POSITIVE = json.loads((VECTORS / "parsing_positive.json").read_text())
NEGATIVE = json.loads((VECTORS / "parsing_negative.json").read_text())
VALIDATION = json.loads((VECTORS / "validation.json").read_text())
NAMES = {
    "chainId": "chain_id",
    "issuedAt": "issued_at",
    "expirationTime": "expiration_time",
    "notBefore": "not_before",
    "requestId": "request_id",
}


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_positive_vectors_parse_to_their_fields(name: str) -> None:
    vector = POSITIVE[name]
    message = parse(vector["message"])
    for key, value in vector["fields"].items():
        got = getattr(message, NAMES.get(key, key))
        if key == "resources":
            got = list(got)
        assert str(got) == str(value) if key == "chainId" else got == value, key
    assert message.text() == vector["message"]


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_vectors_are_refused(name: str) -> None:
    with pytest.raises(SiweError):
        parse(NEGATIVE[name])


def _message(fields: dict[str, Any]) -> SiweMessage:
    return SiweMessage(
        domain=fields["domain"],
        address=fields["address"],
        statement=fields.get("statement"),
        uri=fields["uri"],
        version=fields["version"],
        chain_id=int(fields["chainId"]),
        nonce=fields["nonce"],
        issued_at=fields["issuedAt"],
        expiration_time=fields.get("expirationTime"),
    )


def test_validation_vectors() -> None:
    [good] = VALIDATION["positive"].values()
    message = _message(good)
    assert parse(message.text()) == message
    assert recover_personal(message.text(), signature_bytes(good["signature"])) == good["address"]
    bad = VALIDATION["negative"]
    expired = _message(bad["expired message"])
    assert expired.time("expiration_time") < expired.time("issued_at")  # type: ignore[operator]
    with pytest.raises(SiweRejected) as malformed:
        signature_bytes(bad["malformed signature"]["signature"])
    assert malformed.value.code == "bad_signature"
    wrong = _message(bad["wrong signature"])
    signer = recover_personal(wrong.text(), signature_bytes(bad["wrong signature"]["signature"]))
    assert signer != wrong.address
    with pytest.raises(SiweError, match="not a real date"):
        parse(_message(bad["invalid expiration time"]).text())


def test_high_s_and_odd_v_are_refused() -> None:
    [good] = VALIDATION["positive"].values()
    raw = signature_bytes(good["signature"])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(raw[32:64], "big")
    flipped = raw[:32] + (n - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    with pytest.raises(SiweRejected, match="EIP-2"):
        signature_bytes("0x" + flipped.hex())
    with pytest.raises(SiweRejected, match="v is not"):
        signature_bytes("0x" + raw[:64].hex() + "1d")
    for junk in ("", "0x", "zz" * 65, "0x" + "00" * 64):
        with pytest.raises(SiweRejected):
            signature_bytes(junk)


BASE = POSITIVE["couple of optional fields"]["message"]


@given(st.integers(min_value=0, max_value=len(BASE) - 1), st.characters(codec="utf-8"))
def test_any_single_character_change_is_refused_or_changes_the_fields(at: int, char: str) -> None:
    """No edit gives a different text with the same fields: the text is the fields."""
    changed = BASE[:at] + char + BASE[at + 1 :]
    try:
        message = parse(changed)
    except SiweError:
        return
    assert changed == BASE or message != parse(BASE)


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_parser(text: str) -> None:
    with contextlib.suppress(SiweError):
        parse(text)
