"""The pure parts of outbound webhooks: our Standard Webhooks signatures against the
``standardwebhooks`` package's own, which webhook type an event is (a note is never
``message.added``), and ``Retry-After`` in both of its forms."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from proofdesk.domain.tickets import Event, EventType
from proofdesk.domain.webhooks import NOTE_ADDED, WEBHOOK_TYPES, webhook_data, webhook_type
from proofdesk.webhooks import signing
from proofdesk.webhooks.sender import MAX_RETRY_AFTER_SECONDS, retry_after_seconds


@given(
    msg_id=st.integers(0, 2**53).map(str),
    timestamp=st.integers(0, 2**33),
    body=st.text(max_size=200).map(str.encode),
)
def test_our_v1_signature_is_the_packages(msg_id: str, timestamp: int, body: bytes) -> None:
    secret = signing.new_secret()
    ours = signing.hmac_signature(secret, signing.signed_content(msg_id, timestamp, body))
    theirs = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
    assert ours == theirs


def test_headers_carry_one_v1_per_secret_then_v1a() -> None:
    key = Ed25519PrivateKey.generate()
    new, old = signing.new_secret(), signing.new_secret()
    headers = signing.headers("7", 1_700_000_000, b"{}", [new, old], key)
    assert headers["webhook-id"] == "7" and headers["webhook-timestamp"] == "1700000000"
    parts = headers["webhook-signature"].split(" ")
    assert [p.split(",")[0] for p in parts] == ["v1", "v1", "v1a"]
    public = signing.public_key_text(key)
    assert public.startswith("whpk_") and len(base64.b64decode(public[5:])) == 32
    key.public_key().verify(base64.b64decode(parts[2][4:]), b"7.1700000000.{}")


def event(kind: EventType, payload: dict[str, object]) -> Event:
    return Event(1, "t", 2, kind, "a", "2026-12-02T00:00:00.000000Z", payload)


@given(visibility=st.sampled_from(["internal", "INTERNAL", "", "secret", None]))
def test_anything_but_a_public_message_is_a_note(visibility: str | None) -> None:
    payload = {} if visibility is None else {"visibility": visibility}
    assert webhook_type(EventType.MESSAGE_ADDED, payload) == NOTE_ADDED
    assert webhook_type(EventType.MESSAGE_ADDED, {"visibility": "public"}) == "message.added"


def test_every_event_type_has_a_webhook_type_and_decisions_drop_their_facts() -> None:
    assert {webhook_type(t, {"visibility": "public"}) for t in EventType} <= set(WEBHOOK_TYPES)
    assert webhook_type(EventType.DECIDED, {}) == "decision.made"
    data = webhook_data(event(EventType.DECIDED, {"outcome": "valid", "facts": {"x": 1}}), "o")
    assert data["outcome"] == "valid" and "facts" not in data
    assert data["ticket_id"] == "t" and data["organization_id"] == "o" and data["seq"] == 1


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=3), usegmt=True), now) == 180
    assert retry_after_seconds(format_datetime(now - timedelta(days=1), usegmt=True), now) == 0
    assert retry_after_seconds("99999999", now) == MAX_RETRY_AFTER_SECONDS
    for garbage in (None, "", "soon", "-5", "1.5"):
        assert retry_after_seconds(garbage, now) is None
