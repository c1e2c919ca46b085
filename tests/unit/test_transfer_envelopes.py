"""Signed transfer envelopes (``proofdesk.verify.transfer``), pure: a seal checks under its own
kind and key only, any flipped byte of the signature or change of the body fails, and every
malformed envelope is a ``TransferRefused`` naming its check, never a raw exception."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proofdesk.verify.errors import VerificationError
from proofdesk.verify.transfer import (
    DOMAIN,
    TransferRefused,
    check_signed,
    envelope_hash,
    parse_public_key,
    public_key_text,
    seal,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
BODY: dict[str, Any] = {"transfer_id": "t-1", "to": {"organization": "wallet"}, "n": 3}


def test_a_seal_checks_under_its_kind_and_key_only() -> None:
    for kind in DOMAIN:
        envelope = seal(kind, BODY, KEY)
        assert check_signed(envelope, kind, public_key_text(KEY)) == BODY
        for other in set(DOMAIN) - {kind}:
            with pytest.raises(TransferRefused) as caught:
                check_signed({**envelope, "kind": other}, other, public_key_text(KEY))
            assert caught.value.check == "signature"
    stranger = public_key_text(Ed25519PrivateKey.generate())
    with pytest.raises(TransferRefused) as caught:
        check_signed(seal("bundle", BODY, KEY), "bundle", stranger)
    assert caught.value.check == "agreement key"
    with pytest.raises(TransferRefused) as caught:
        check_signed(seal("bundle", BODY, KEY), "bundle", None)
    assert caught.value.check == "agreement key"


def test_every_flipped_signature_bit_and_body_change_fails() -> None:
    envelope = seal("update", BODY, KEY)
    raw = base64.b64decode(envelope["signature"])
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad = {**envelope, "signature": base64.b64encode(bytes(flipped)).decode()}
        with pytest.raises(TransferRefused):
            check_signed(bad, "update", public_key_text(KEY))
    with pytest.raises(TransferRefused) as caught:
        check_signed({**envelope, "body": {**BODY, "n": 4}}, "update", public_key_text(KEY))
    assert caught.value.check == "signature"


@pytest.mark.parametrize(
    ("envelope", "check"),
    [
        (None, "envelope"),
        ([], "envelope"),
        ({"format": "proofdesk-transfer/v1"}, "envelope"),
        ({**seal("bundle", BODY, KEY), "extra": 1}, "envelope"),
        ({**seal("bundle", BODY, KEY), "body": []}, "envelope"),
        ({**seal("bundle", BODY, KEY), "signature": 7}, "envelope"),
        ({**seal("bundle", BODY, KEY), "signature": "not base64!"}, "signature"),
        ({**seal("bundle", BODY, KEY), "signature": ""}, "signature"),
    ],
)
def test_a_malformed_envelope_names_its_check(envelope: Any, check: str) -> None:
    with pytest.raises(TransferRefused) as caught:
        check_signed(envelope, "bundle", public_key_text(KEY))
    assert caught.value.check == check


def test_keys_and_hashes() -> None:
    text = public_key_text(KEY)
    assert text.startswith("ed25519:") and parse_public_key(text) is not None
    for bad in ("", "ed25519:", "ed25519:AAAA", "rsa:" + text[8:], 5):
        with pytest.raises(VerificationError):
            parse_public_key(bad)
    envelope = seal("bundle", BODY, KEY)
    assert envelope_hash(envelope) == envelope_hash(dict(reversed(list(envelope.items()))))
    assert envelope_hash(envelope) != envelope_hash(seal("bundle", {**BODY, "n": 4}, KEY))
