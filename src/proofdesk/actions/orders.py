"""Orders a shop or exchange keeps in step with ProofDesk: purchases and withdrawals, the
source of the ``order.*`` and ``withdrawal.*`` facts of service contracts.

Two ways in: ``PUT /api/v1/orders/{id}`` with an admin's (integration) API token, and a webhook signed with the
organization's secret (HMAC-SHA256 over ``"<unix time>.<body>"``, sent as
``X-ProofDesk-Signature: t=<unix time>,v1=<hex>``; five minutes of clock skew at most). A sync
carries the shop's ``updated_at``; an update older than the stored one is ignored, so a replayed
or reordered delivery never rolls an order back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_admin
from proofdesk.canonical import decimal_string, maybe_stored_utc, utc_now
from proofdesk.domain import identifiers
from proofdesk.errors import Conflict, InvalidInput, Unauthenticated
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import Order, Organization, User

KINDS = ("purchase", "withdrawal")
SIGNATURE_HEADER = "X-ProofDesk-Signature"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class OrderSync:
    external_id: str
    customer_id: str
    amount: str
    currency: str
    status: str
    kind: str = "purchase"
    description: str | None = None
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    chain_id: int | None = None
    tx_hash: str | None = None
    #: When the shop last changed the order; a sync older than the stored one is ignored.
    updated_at: datetime | None = None


def do_sync_order(
    session: Session, organization_id: str, spec: OrderSync, source: str
) -> tuple[Order, bool]:
    """Create or update an order as the shop has it (``source``: ``api`` or ``webhook``);
    returns it and whether anything was written."""
    external_id = identifiers.order_id(spec.external_id)
    if spec.kind not in KINDS:
        raise InvalidInput(f"kind must be one of {KINDS}", field="kind")
    customer = session.get(User, spec.customer_id)
    if (
        customer is None
        or customer.organization_id != organization_id
        or customer.role != "customer"
    ):
        raise InvalidInput("no such customer", field="customer_id")
    currency = spec.currency.upper()
    if not currency.isalnum() or not 1 <= len(currency) <= 16:
        raise InvalidInput("currency must be 1-16 letters or digits", field="currency")
    status = spec.status.strip()
    if not 1 <= len(status) <= 32:
        raise InvalidInput("status must be 1-32 characters", field="status")
    updated = maybe_stored_utc(spec.updated_at) or utc_now()
    values: dict[str, object] = {
        "customer_id": customer.id,
        "amount": decimal_string(spec.amount),
        "currency": currency,
        "status": status,
        "kind": spec.kind,
        "description": spec.description,
        "paid_at": maybe_stored_utc(spec.paid_at),
        "delivered_at": maybe_stored_utc(spec.delivered_at),
        "chain_id": None if spec.chain_id is None else identifiers.chain_id(spec.chain_id),
        "tx_hash": None if spec.tx_hash is None else identifiers.tx_hash(spec.tx_hash),
        "updated_at": updated,
        "source": source,
    }
    order = session.scalars(
        select(Order).where(
            Order.organization_id == organization_id, Order.external_id == external_id
        )
    ).first()
    if order is None:
        order = Order(
            organization_id=organization_id,
            external_id=external_id,
            created_at=updated,
            **values,
        )
        session.add(order)
        session.flush()
        return order, True
    if order.customer_id != customer.id:
        raise Conflict("this order belongs to another customer", code="order_customer_differs")
    stored = maybe_stored_utc(order.updated_at)
    if stored is not None and updated < stored:
        return order, False
    for key, value in values.items():
        setattr(order, key, value)
    return order, True


def do_sync(session: Session, actor: Actor, spec: OrderSync) -> tuple[Order, bool]:
    """An integration (an admin's token) syncs an order. Agents cannot: what a shop says about
    an order can pay a refund, so it must come from the shop's side."""
    require_admin(actor)
    return do_sync_order(session, actor.organization_id, spec, "api")


def _context(organization_id: str) -> str:
    return f"webhook-secret:{organization_id}"


def do_new_webhook_secret(session: Session, actor: Actor, keyring: Keyring) -> str:
    """A new signing secret for order webhooks (the previous one stops working); shown once."""
    require_admin(actor)
    org = session.get(Organization, actor.organization_id)
    assert org is not None
    secret = "whsec_" + secrets.token_urlsafe(32)
    org.webhook_secret = keyring.wrap(_context(org.id), secret.encode())
    return secret


def check_signature(
    org: Organization, keyring: Keyring, header: str | None, body: bytes, now: float | None = None
) -> None:
    """Raise :class:`Unauthenticated` unless ``header`` signs ``body`` with the secret."""
    if org.webhook_secret is None:
        raise Unauthenticated("webhooks are not set up", code="webhook_not_configured")
    parts: dict[str, str] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, value)
    try:
        stamp = int(parts["t"])
        given = bytes.fromhex(parts["v1"])
    except (KeyError, ValueError):
        raise Unauthenticated(
            f"{SIGNATURE_HEADER} must be t=<unix time>,v1=<hex HMAC-SHA256>",
            code="bad_webhook_signature",
        ) from None
    if abs((now if now is not None else time.time()) - stamp) > TOLERANCE_SECONDS:
        raise Unauthenticated("the signature is too old or from the future", code="stale_webhook")
    secret = keyring.unwrap(_context(org.id), org.webhook_secret)
    expected = hmac.new(secret, str(stamp).encode() + b"." + body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise Unauthenticated("the signature does not match", code="bad_webhook_signature")


def sign(secret: str, body: bytes, stamp: int) -> str:
    """The header value a sender puts on ``body`` (what shops implement; used by tests)."""
    digest = hmac.new(secret.encode(), str(stamp).encode() + b"." + body, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"
