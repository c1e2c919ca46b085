"""Tickets that cross between organizations, with their proofs (``docs/consortium.md``).

The sender's side: an admin makes an agreement with a partner (:func:`do_make_agreement`, its
key may come later, :func:`do_set_peer_key`); the customer's consent is an event on the ticket
(:func:`do_consent_transfer`); :func:`send_transfer` builds the signed bundle, posts it, and
:func:`do_record_sent` logs the partner's signed acknowledgement on the ticket.

The receiver's side: :func:`do_accept_bundle` runs every check of
:func:`proofdesk.verify.transfer.check_bundle` before it writes anything, then opens a linked
ticket whose first event cites the sender's origin, log index and checkpoint, and answers with
its own signed acknowledgement (the same one again for a bundle it already took).

Both sides: :func:`do_queue_update` writes a signed status update as an event on its own
ticket and, in the same transaction, a ``transfer_updates`` row that the ``transfers`` worker
delivers (:func:`do_advance_updates`, retried); the partner takes it once
(:func:`do_take_update`: the update id is unique), as an event on its linked ticket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_ticket, require_admin, require_worker
from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.actions.webhooks import UrlPolicy
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, EventType, Kind, Status
from proofdesk.errors import Conflict, Error, InvalidInput, InvalidTransition, NotFound
from proofdesk.ledger import checkpoints
from proofdesk.ledger.transfers import build_bundle, check_shareable
from proofdesk.ledger.witnessing import WitnessPolicy, cosigned_note
from proofdesk.store.db import Database
from proofdesk.store.events import EventAppender
from proofdesk.store.models import (
    SignedCheckpoint,
    Ticket,
    Transfer,
    TransferAgreement,
    TransferUpdate,
    User,
    new_id,
)
from proofdesk.store.rows import row_to_state
from proofdesk.verify.errors import VerificationError
from proofdesk.verify.note import Signer
from proofdesk.verify.transfer import (
    Agreement,
    TransferRefused,
    check_bundle,
    check_envelope,
    check_ids,
    check_signed,
    envelope_hash,
    parse_public_key,
    revealed_events,
    seal,
)
from proofdesk.webhooks.sender import Sender

#: How much of a partner's answer is read (a signed acknowledgement with its checkpoint).
ANSWER_BYTES = 64_000
#: Retries of an undelivered update: 10 s, 20 s, 40 s, … at most an hour apart.
RETRY_FIRST_SECONDS = 10
RETRY_MAX_SECONDS = 3600
MAX_MESSAGE = 64_000


class TransferRefusedError(InvalidInput):
    """A bundle, acknowledgement or update that does not verify; ``details.check`` names the
    check (:data:`proofdesk.verify.transfer.BUNDLE_CHECKS`)."""

    code = "transfer_refused"


class PartnerUnreachable(Error):
    code = "partner_unreachable"
    http_status = 502


class PartnerRefused(Conflict):
    """The partner answered, and refused: ``details.check`` is the check it named."""

    code = "partner_refused"


def refused(exc: TransferRefused) -> TransferRefusedError:
    return TransferRefusedError(str(exc), check=exc.check)


@dataclass(frozen=True)
class Parts:
    """What sending and receiving need: the log, its signer and witnesses, the transfer key,
    and how partners are reached (the webhooks' SSRF-safe sender)."""

    db: Database
    signer: Signer
    key: Ed25519PrivateKey
    policy: WitnessPolicy
    urls: UrlPolicy
    timeout: float


# -- agreements ----------------------------------------------------------------------------


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    try:
        parse_public_key(key)
    except VerificationError as exc:
        raise InvalidInput(str(exc), code="invalid_peer_key", field="peer_key") from None
    return key


def do_make_agreement(
    session: Session,
    actor: Actor,
    urls: UrlPolicy,
    *,
    name: str,
    peer_url: str,
    peer_organization: str,
    peer_key: str | None,
) -> TransferAgreement:
    """An agreement with a partner organization (at ``peer_url``, its API base); without a
    key it is inactive until :func:`do_set_peer_key`."""
    require_admin(actor)
    urls.check(peer_url)
    exists = session.scalars(
        select(TransferAgreement).where(
            TransferAgreement.organization_id == actor.organization_id,
            TransferAgreement.peer_organization == peer_organization,
        )
    ).first()
    if exists is not None:
        raise Conflict(
            "there is an agreement with this organization already",
            code="agreement_exists",
            agreement_id=exists.id,
        )
    row = TransferAgreement(
        id=new_id(),
        organization_id=actor.organization_id,
        name=name,
        peer_url=peer_url.rstrip("/"),
        peer_organization=peer_organization,
        peer_key=_check_key(peer_key),
        created_at=format_time(utc_now()),
    )
    session.add(row)
    session.flush()
    return row


def do_set_peer_key(
    session: Session, actor: Actor, agreement: TransferAgreement, peer_key: str | None
) -> TransferAgreement:
    require_admin(actor)
    agreement.peer_key = _check_key(peer_key)
    return agreement


def do_end_agreement(session: Session, actor: Actor, agreement: TransferAgreement) -> None:
    """Nothing is sent or accepted under an ended agreement; what crossed stays logged."""
    require_admin(actor)
    if agreement.ended_at is None:
        agreement.ended_at = format_time(utc_now())


def _active(agreement: TransferAgreement) -> TransferAgreement:
    if agreement.ended_at is not None:
        raise InvalidTransition("this agreement has ended", code="agreement_ended")
    if agreement.peer_key is None:
        raise InvalidTransition("this agreement has no partner key yet", code="agreement_inactive")
    return agreement


# -- the sender ----------------------------------------------------------------------------


def do_consent_transfer(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    agreement: TransferAgreement,
    fields: list[str],
) -> Transfer:
    """The customer agreed that ``fields`` of this ticket go to the agreement's partner: an
    event on the ticket (the bundle reveals it, and the receiver refuses a bundle without
    it). A customer consents on their own ticket; staff record a consent given to them."""
    if not actor.is_customer:
        require_worker(actor)
    _active(agreement)
    chosen = check_shareable(fields)
    state = row_to_state(ticket)
    if state.erased_at is not None:
        raise InvalidTransition("an erased ticket cannot be transferred", code="ticket_erased")
    transfer_id = new_id()
    now = format_time(utc_now())
    EventAppender(session).append(
        state,
        ticket_id=ticket.id,
        organization_id=ticket.organization_id,
        type=EventType.TRANSFER_CONSENTED,
        actor_id=actor.user_id,
        occurred_at=now,
        payload={
            "transfer_id": transfer_id,
            "agreement_id": agreement.id,
            "to_organization": agreement.peer_organization,
            "fields": chosen,
            "given_by": "customer" if actor.is_customer else "staff",
        },
    )
    row = Transfer(
        transfer_id=transfer_id,
        organization_id=ticket.organization_id,
        agreement_id=agreement.id,
        direction="sent",
        status="consented",
        ticket_id=ticket.id,
        fields=json.dumps(chosen),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def post_envelope(parts: Parts, url: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """POST a signed envelope to a partner through the SSRF-safe sender; its JSON answer, or
    :class:`PartnerUnreachable` / :class:`PartnerRefused` (with the check it named)."""
    sender = Sender(timeout=parts.timeout, allow_private=parts.urls.allow_private)
    try:
        outcome = sender.send(
            url,
            json.dumps(envelope).encode(),
            {"Accept": "application/json"},
            utc_now(),
            read=ANSWER_BYTES,
        )
    finally:
        sender.close()
    if outcome.status_code is None:
        raise PartnerUnreachable(f"the partner did not answer: {outcome.error}", url=url)
    try:
        answer = json.loads(outcome.excerpt)
    except ValueError:
        answer = None
    if outcome.delivered and isinstance(answer, dict):
        return answer
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and 400 <= outcome.status_code < 500:
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        raise PartnerRefused(
            f"the partner refused: {error.get('message')}",
            partner_code=error.get("code"),
            check=(details or {}).get("check"),
        )
    raise PartnerUnreachable(f"the partner answered HTTP {outcome.status_code}", url=url)


def send_transfer(parts: Parts, actor: Actor, ticket_id: str, transfer_id: str) -> Transfer:
    """Build the bundle of a consented transfer, post it to the partner, and log its signed
    acknowledgement (:func:`do_record_sent`). Reading and posting happen outside the writer
    lock; a failure leaves the transfer consented, to be sent again, and a transfer sent
    already is returned as it is. The receiver answers a bundle it took with the same
    acknowledgement, so a retry after a lost answer opens no second ticket."""
    with parts.db.reader() as session:
        ticket, row, agreement = _sending(session, actor, ticket_id, transfer_id)
        if row.status == "sent":
            return row  # sent already: asking again is safe, and sends nothing
        requester = session.get(User, ticket.requester_id)
        fields = json.loads(row.fields)
        customer = None
        if "contact" in fields and requester is not None:
            customer = {"display_name": requester.display_name, "email": requester.email}
        consent_seq = session.scalar(select(Ticket.last_seq).where(Ticket.id == ticket.id))
        url, peer_org = agreement.peer_url, agreement.peer_organization
    assert consent_seq is not None
    bundle = build_bundle(
        parts.db,
        parts.signer,
        parts.key,
        parts.policy,
        transfer_id=transfer_id,
        organization_id=actor.organization_id,
        peer_organization=peer_org,
        ticket_id=ticket_id,
        last_seq=int(consent_seq),
        fields=fields,
        customer=customer,
    )
    answer = post_envelope(parts, f"{url}/transfers/inbound", bundle)
    with parts.db.writer() as session:
        ticket, row, agreement = _sending(session, actor, ticket_id, transfer_id, lock=True)
        if row.status == "sent":
            return row  # another request got the acknowledgement first
        return do_record_sent(session, actor, ticket, row, agreement, bundle, answer)


def _sending(
    session: Session, actor: Actor, ticket_id: str, transfer_id: str, *, lock: bool = False
) -> tuple[Ticket, Transfer, TransferAgreement]:
    require_worker(actor)
    ticket = access_ticket(session, actor, ticket_id, write=True, lock=lock)
    row = session.scalars(
        select(Transfer).where(
            Transfer.organization_id == actor.organization_id,
            Transfer.transfer_id == transfer_id,
            Transfer.direction == "sent",
            Transfer.ticket_id == ticket.id,
        )
    ).first()
    if row is None:
        raise NotFound("no such transfer of this ticket")
    agreement = session.get(TransferAgreement, row.agreement_id)
    assert agreement is not None
    return ticket, row, agreement if row.status == "sent" else _active(agreement)


def do_record_sent(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    transfer: Transfer,
    agreement: TransferAgreement,
    bundle: dict[str, Any],
    acknowledgement: Any,
) -> Transfer:
    """Log the partner's signed acknowledgement of ``bundle`` on the sender's ticket, after
    checking it is signed by the agreement key and acknowledges this very bundle."""
    try:
        body = check_signed(acknowledgement, "acknowledgement", agreement.peer_key)
    except TransferRefused as exc:
        raise refused(exc) from None
    if body.get("bundle_hash") != envelope_hash(bundle) or body.get("transfer_id") != (
        transfer.transfer_id
    ):
        raise TransferRefusedError(
            "acknowledgement: it acknowledges another bundle", check="acknowledgement"
        )
    received = body.get("received")
    if not isinstance(received, dict):
        raise TransferRefusedError("acknowledgement: no citation", check="acknowledgement")
    now = format_time(utc_now())
    EventAppender(session).append(
        row_to_state(ticket),
        ticket_id=ticket.id,
        organization_id=ticket.organization_id,
        type=EventType.TRANSFER_SENT,
        actor_id=actor.user_id,
        occurred_at=now,
        payload={
            "transfer_id": transfer.transfer_id,
            "to_organization": agreement.peer_organization,
            "bundle_hash": envelope_hash(bundle),
            "acknowledgement_hash": envelope_hash(acknowledgement),
            "acknowledgement_key": acknowledgement["key"],
            "acknowledgement_signature": acknowledgement["signature"],
            "received": received,
        },
    )
    transfer.status = "sent"
    transfer.bundle_hash = envelope_hash(bundle)
    transfer.acknowledgement = json.dumps(acknowledgement)
    transfer.peer_ticket_id = str(received.get("ticket_id"))
    transfer.updated_at = now
    return transfer


# -- the receiver --------------------------------------------------------------------------


def _agreement_for(session: Session, envelope: dict[str, Any]) -> TransferAgreement:
    """The agreement under which a partner sent ``envelope``: an active one of ours with the
    sending organization and the envelope's key (``agreement key`` refused otherwise); of
    those, the one of the organization it is addressed to, if any (the ``receiver`` check
    refuses the others)."""
    body = envelope["body"]
    ours, peer = _organization(body, "to"), _organization(body, "from")
    rows = session.scalars(
        select(TransferAgreement)
        .where(
            TransferAgreement.peer_organization == str(peer),
            TransferAgreement.peer_key == str(envelope["key"]),
            TransferAgreement.ended_at.is_(None),
        )
        .order_by(TransferAgreement.created_at)
    ).all()
    if not rows:
        raise TransferRefusedError(
            "agreement key: no active agreement with the sending organization and this key",
            check="agreement key",
        )
    return next((r for r in rows if r.organization_id == ours), rows[0])


def _organization(body: dict[str, Any], side: str) -> str | None:
    """The organization a signed body names as its ``to`` or ``from``, if it names one."""
    value = body.get(side)
    name = value.get("organization") if isinstance(value, dict) else None
    return name if isinstance(name, str) else None


def do_accept_bundle(parts: Parts, bundle: Any) -> dict[str, Any]:
    """Verify a partner's bundle, then open the linked ticket and answer with our signed
    acknowledgement. Refused (``transfer_refused``, the failing check named) before anything
    is written; a bundle taken already gets the same acknowledgement again."""
    try:
        body = check_envelope(bundle, "bundle")
    except TransferRefused as exc:
        raise refused(exc) from None
    with parts.db.reader() as session:
        agreement = _agreement_for(session, bundle)
        known = Agreement(
            agreement.organization_id, agreement.peer_organization, agreement.peer_key
        )
        done = _received(session, agreement.organization_id, str(body.get("transfer_id")))
        if done is not None and done.acknowledgement is not None:
            return dict(json.loads(done.acknowledgement))
    try:
        body, report = check_bundle(bundle, known)  # the receipt's proofs: outside the lock
    except TransferRefused as exc:
        raise refused(exc) from None
    events = revealed_events(body["receipt"], report)
    with parts.db.writer() as session:
        agreement = _agreement_for(session, bundle)
        if agreement.organization_id != known.ours:
            raise TransferRefusedError(
                "agreement key: the agreement changed", check="agreement key"
            )
        row = _received(session, agreement.organization_id, body["transfer_id"])
        if row is None:
            row = _open_linked(session, agreement, bundle, body, events, report.checkpoint)
        ticket_id, transfer_id = row.ticket_id, row.transfer_id
        index = session.scalar(select(Ticket.last_seq).where(Ticket.id == ticket_id))
    assert index is not None
    cp = checkpoints.ensure(parts.db, parts.signer, int(index) + 1)
    with parts.db.reader() as session:
        note = cosigned_note(session, session.get(SignedCheckpoint, cp.size) or cp)
    acknowledgement = seal(
        "acknowledgement",
        {
            "transfer_id": transfer_id,
            "bundle_hash": envelope_hash(bundle),
            "from": {"organization": known.ours},
            "to": {"organization": known.peer},
            "received": {
                "ticket_id": ticket_id,
                "origin": parts.signer.name,
                "log_key": parts.signer.verifier.encode(),
                "index": int(index),
                "checkpoint": note,
            },
        },
        parts.key,
    )
    with parts.db.writer() as session:
        row = _received(session, known.ours, transfer_id)
        assert row is not None
        if row.acknowledgement is None:
            row.acknowledgement = json.dumps(acknowledgement)
            return acknowledgement
        return dict(json.loads(row.acknowledgement))


def _received(session: Session, organization_id: str, transfer_id: str) -> Transfer | None:
    return session.scalars(
        select(Transfer).where(
            Transfer.organization_id == organization_id,
            Transfer.transfer_id == transfer_id,
            Transfer.direction == "received",
        )
    ).first()


def _open_linked(
    session: Session,
    agreement: TransferAgreement,
    bundle: dict[str, Any],
    body: dict[str, Any],
    events: list[tuple[int, str, dict[str, Any]]],
    checkpoint: Any,
) -> Transfer:
    """The receiver's ticket: its first event cites where the sender's log holds the
    transfer; the second records the bundle."""
    org = agreement.organization_id
    created = events[0][2] if events else {}
    messages = [f for _, kind, f in events if kind == EventType.MESSAGE_ADDED.value and "body" in f]
    customer = _customer(session, org, body.get("customer"), agreement)
    actor = Actor(customer.id, org, Role.CUSTOMER)
    named = created.get("kind")
    kind = named if isinstance(named, str) and named in {k.value for k in Kind} else "question"
    subject = created.get("subject") if isinstance(created.get("subject"), str) else ""
    first = messages[0]["body"] if messages and isinstance(messages[0]["body"], str) else ""
    # check_bundle found the consent among the revealed events: its index is what we cite.
    consent_index = [i for i, kind, _ in events if kind == EventType.TRANSFER_CONSENTED.value][-1]
    citation = {
        "transfer_id": body["transfer_id"],
        "organization": agreement.peer_organization,
        "ticket_id": body["ticket_id"],
        "origin": body["receipt"]["log"]["origin"],
        "log_key": body["log_key"],
        "index": consent_index,
        "checkpoint": {"size": checkpoint.size, "root": checkpoint.root.hex()},
    }
    spec = NewTicket(
        kind=Kind(kind),
        subject=(subject or f"Transferred from {agreement.name}")[:300],
        body=(first or subject or f"Transferred from {agreement.name}")[:MAX_MESSAGE],
        channel=Channel.API,
        transferred_from=citation,
        **{
            name: created[name]
            for name in ("order_id", "wallet_address", "chain_id", "tx_hash", "network")
            if isinstance(created.get(name), (str, int)) and not isinstance(created[name], bool)
        },
    )
    state = do_create_ticket(session, actor, spec)
    now = format_time(utc_now())
    EventAppender(session).append(
        state,
        ticket_id=state.id,
        organization_id=org,
        type=EventType.TRANSFER_RECEIVED,
        actor_id=None,
        occurred_at=now,
        payload={
            "transfer_id": body["transfer_id"],
            "from_organization": agreement.peer_organization,
            "bundle_hash": envelope_hash(bundle),
            "bundle_key": bundle["key"],
            "bundle_signature": bundle["signature"],
            "fields": body.get("fields", []),
            "events": len(events),
            "messages": len(messages),
            "checkpoint": body["receipt"]["checkpoint"],
        },
    )
    row = Transfer(
        transfer_id=body["transfer_id"],
        organization_id=org,
        agreement_id=agreement.id,
        direction="received",
        status="received",
        ticket_id=state.id,
        peer_ticket_id=body["ticket_id"],
        fields=json.dumps(body.get("fields", [])),
        bundle_hash=envelope_hash(bundle),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _customer(session: Session, org: str, shared: Any, agreement: TransferAgreement) -> User:
    """The requester of the linked ticket: a new customer with the shared name and e-mail
    address. Never an account of ours that holds the address already: a partner must not be
    able to put a ticket into one of our customers' portals (staff may merge them), nor post
    as our staff; such a customer gets no address."""
    email = shared.get("email") if isinstance(shared, dict) else None
    name = shared.get("display_name") if isinstance(shared, dict) else None
    if isinstance(email, str) and email:
        taken = session.scalars(
            select(User.id).where(User.organization_id == org, User.email == email.lower())
        ).first()
        if taken is not None:
            email = None
    return do_create_user(
        session,
        org,
        role=Role.CUSTOMER,
        display_name=(name if isinstance(name, str) and name else agreement.name)[:200],
        email=email if isinstance(email, str) and email else None,
    )


# -- status updates, both ways -------------------------------------------------------------


def do_queue_update(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    key: Ed25519PrivateKey,
    transfer_id: str,
    *,
    message: str | None,
    status: Status | None,
) -> TransferUpdate:
    """A signed update of a transferred ticket (a reply, where it stands) for the partner:
    an event on our ticket and, in the same transaction, its outbox row."""
    require_worker(actor)
    row = session.scalars(
        select(Transfer).where(
            Transfer.organization_id == ticket.organization_id,
            Transfer.transfer_id == transfer_id,
            Transfer.ticket_id == ticket.id,
            Transfer.status.in_(("sent", "received")),
        )
    ).first()
    if row is None:
        raise NotFound("no such transfer of this ticket")
    if message is None and status is None:
        raise InvalidInput("an update carries a message or a status", code="empty_update")
    if message is not None and not 0 < len(message.strip()) <= MAX_MESSAGE:
        raise InvalidInput(f"message must be 1-{MAX_MESSAGE} characters", field="message")
    agreement = session.get(TransferAgreement, row.agreement_id)
    assert agreement is not None
    _active(agreement)
    update_id = new_id()
    now = format_time(utc_now())
    body: dict[str, Any] = {
        "update_id": update_id,
        "transfer_id": transfer_id,
        "from": {"organization": ticket.organization_id},
        "to": {"organization": agreement.peer_organization},
        "sent_at": now,
    }
    if message is not None:
        body["message"] = message.strip()
    if status is not None:
        body["status"] = status.value
    envelope = seal("update", body, key)
    payload: dict[str, Any] = {
        "transfer_id": transfer_id,
        "update_id": update_id,
        "direction": "out",
        "update_hash": envelope_hash(envelope),
        **{k: body[k] for k in ("message", "status") if k in body},
    }
    EventAppender(session).append(
        row_to_state(ticket),
        ticket_id=ticket.id,
        organization_id=ticket.organization_id,
        type=EventType.TRANSFER_UPDATED,
        actor_id=actor.user_id,
        occurred_at=now,
        payload=payload,
    )
    update = TransferUpdate(
        update_id=update_id,
        organization_id=ticket.organization_id,
        transfer_id=transfer_id,
        direction="out",
        envelope=json.dumps(envelope),
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(update)
    session.flush()
    return update


def do_take_update(db: Database, envelope: Any) -> dict[str, Any]:
    """A partner's signed update, as an event on our linked ticket, once: the same update
    again (a retry after a lost answer) changes nothing and is answered the same."""
    try:
        body = check_envelope(envelope, "update")
    except TransferRefused as exc:
        raise refused(exc) from None
    with db.writer() as session:
        agreement = _agreement_for(session, envelope)
        try:
            body = check_signed(envelope, "update", agreement.peer_key)
            check_ids(body, "update_id", "transfer_id")
        except TransferRefused as exc:
            raise refused(exc) from None
        if _organization(body, "to") != agreement.organization_id:
            raise TransferRefusedError("receiver: addressed to someone else", check="receiver")
        update_id, transfer_id = str(body.get("update_id")), str(body.get("transfer_id"))
        org = agreement.organization_id
        taken = session.scalars(
            select(TransferUpdate).where(
                TransferUpdate.organization_id == org,
                TransferUpdate.update_id == update_id,
                TransferUpdate.direction == "in",
            )
        ).first()
        if taken is not None:
            return {"update_id": update_id, "taken": True}
        row = session.scalars(
            select(Transfer).where(
                Transfer.organization_id == org,
                Transfer.transfer_id == transfer_id,
                Transfer.agreement_id == agreement.id,
            )
        ).first()
        if row is None:
            raise TransferRefusedError("transfer: no such transfer", check="transfer")
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None
        fields = {k: body[k] for k in ("message", "status") if isinstance(body.get(k), str)}
        if fields.get("status", Status.OPEN.value) not in {s.value for s in Status}:
            raise TransferRefusedError("envelope: status is no ticket status", check="envelope")
        now = format_time(utc_now())
        EventAppender(session).append(
            row_to_state(ticket),
            ticket_id=ticket.id,
            organization_id=org,
            type=EventType.TRANSFER_UPDATED,
            actor_id=None,
            occurred_at=now,
            payload={
                "transfer_id": transfer_id,
                "update_id": update_id,
                "direction": "in",
                "from_organization": agreement.peer_organization,
                "update_hash": envelope_hash(envelope),
                "update_signature": envelope["signature"],
                **fields,
            },
        )
        session.add(
            TransferUpdate(
                update_id=update_id,
                organization_id=org,
                transfer_id=transfer_id,
                direction="in",
                envelope=json.dumps(envelope),
                attempts=1,
                next_attempt_at=now,
                delivered_at=now,
                created_at=now,
            )
        )
    return {"update_id": update_id, "taken": True}


def due_updates(db: Database, limit: int = 50) -> list[tuple[int, str, str]]:
    """(row id, partner URL, envelope) of the outgoing updates due now, oldest first."""
    now = format_time(utc_now())
    with db.reader() as session:
        rows = session.execute(
            select(TransferUpdate.id, TransferAgreement.peer_url, TransferUpdate.envelope)
            .join(
                Transfer,
                (Transfer.transfer_id == TransferUpdate.transfer_id)
                & (Transfer.organization_id == TransferUpdate.organization_id),
            )
            .join(TransferAgreement, TransferAgreement.id == Transfer.agreement_id)
            .where(
                TransferUpdate.direction == "out",
                TransferUpdate.delivered_at.is_(None),
                TransferUpdate.next_attempt_at <= now,
            )
            .order_by(TransferUpdate.id)
            .limit(limit)
        ).all()
    return [(int(i), str(u), str(e)) for i, u, e in rows]


def do_advance_updates(parts: Parts) -> int:
    """Deliver what is due (the ``transfers`` worker's step): each POST outside the writer
    lock, then the row marked delivered — or its next attempt scheduled — under it. Two
    workers may both post one update; the partner takes it once (:func:`do_take_update`)."""
    delivered = 0
    for row_id, url, envelope in due_updates(parts.db):
        error: str | None = None
        try:
            post_envelope(parts, f"{url}/transfers/updates", json.loads(envelope))
        except Error as exc:
            error = exc.message[:500]
        with parts.db.writer() as session:
            row = session.get(TransferUpdate, row_id)
            if row is None or row.delivered_at is not None:
                continue
            now = utc_now()
            row.attempts += 1
            if error is None:
                row.delivered_at = format_time(now)
                row.last_error = None
                delivered += 1
            else:
                wait = min(RETRY_FIRST_SECONDS * 2 ** (row.attempts - 1), RETRY_MAX_SECONDS)
                row.next_attempt_at = format_time(now + timedelta(seconds=wait))
                row.last_error = error
    return delivered
