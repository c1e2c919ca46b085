"""What staff keep about a customer beside their tickets: notes; and the customer a stranger's
contact (an e-mail or a wallet address left in the chat widget) stands for.

A note is staff's own working knowledge ("prefers e-mail", "VIP since the migration"), never
shown to the customer. Writing one is logged like every change — an event of the customer's
stream in the transparency log (``customer.noted``, with the note's id and no text) — while
the text lives in ``customer_notes`` only, so that erasing the customer deletes it for good.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_customer, require_worker
from proofdesk.actions.accounts import do_attach_wallet, do_create_user, normalize_email
from proofdesk.actions.siwe import short_address
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain import identifiers
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import EventType
from proofdesk.errors import Forbidden, InvalidInput
from proofdesk.store.events import EventAppender
from proofdesk.store.models import CustomerNote, User, Wallet, new_id

#: A note is a few lines, not a document.
MAX_NOTE = 4000


def do_add_customer_note(session: Session, actor: Actor, customer: User, body: str) -> CustomerNote:
    """Add a note about ``customer`` (loaded via ``access_user``); agents, supervisors and
    admins only. Must run in ``Database.writer()``."""
    require_worker(actor)
    access_customer(actor, customer)
    text = body.strip()
    if not text:
        raise InvalidInput("write the note", field="body")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note has at most {MAX_NOTE} characters", field="body")
    now = utc_now()
    note_id = new_id()
    event = EventAppender(session).append_organization(
        organization_id=actor.organization_id,
        type=EventType.CUSTOMER_NOTED,
        actor_id=actor.user_id,
        occurred_at=format_time(now),
        payload={"note_id": note_id, "customer_id": customer.id},
        stream=customer.id,
    )
    note = CustomerNote(
        id=note_id,
        organization_id=actor.organization_id,
        customer_id=customer.id,
        author_id=actor.user_id,
        body=text,
        created_at=now,
        seq=event.seq,
    )
    session.add(note)
    return note


def check_contact(contact: str) -> tuple[str | None, str | None]:
    """An e-mail address or an EVM wallet address (``0x`` and 40 hex digits), checked and
    normalized: ``(email, None)`` or ``(None, wallet)``; anything else is refused."""
    text = contact.strip()
    if text.lower().startswith("0x"):
        try:
            return None, identifiers.evm_address(text)
        except (InvalidInput, ValueError):
            raise InvalidInput(
                "not a wallet address (0x followed by 40 hex digits)",
                code="invalid_contact",
                field="contact",
            ) from None
    if "@" not in text or len(text) > 254:
        raise InvalidInput(
            "leave an e-mail address or a wallet address", code="invalid_contact", field="contact"
        )
    try:
        return normalize_email(text), None
    except InvalidInput:
        raise InvalidInput(
            "not an e-mail address", code="invalid_contact", field="contact"
        ) from None


def do_customer_for_contact(
    session: Session, organization_id: str, contact: str, *, locale: str = "en"
) -> User:
    """The customer an e-mail or wallet address left by a visitor without an account stands
    for: the one with that e-mail or that wallet, else a new one created as the e-mail channel
    and Sign-In with Ethereum create them (``do_create_user``, a wallet recorded unproven — no
    payout goes to it until its owner signs). A staff address or a disabled account is refused:
    a stranger never writes as staff."""
    email, wallet = check_contact(contact)
    if email is not None:
        user = session.scalars(
            select(User).where(User.organization_id == organization_id, User.email == email)
        ).first()
    else:
        held = session.scalars(
            select(Wallet).where(
                Wallet.organization_id == organization_id, Wallet.address == wallet
            )
        ).first()
        user = session.get(User, held.user_id) if held is not None else None
    if user is not None:
        if user.role != Role.CUSTOMER.value or not user.is_active:
            raise Forbidden(
                "this address cannot open a request from the chat", code="contact_refused"
            )
        return user
    assert email is not None or wallet is not None
    user = do_create_user(
        session,
        organization_id,
        role=Role.CUSTOMER,
        display_name=email.split("@", 1)[0] if email else short_address(wallet or ""),
        email=email,
        locale=locale,
    )
    if wallet is not None:
        do_attach_wallet(session, user, wallet, "left in the chat widget")
    return user
