"""The e-mail channel end to end on SQLite and PostgreSQL: mail taken in (directly, from a real
Dovecot over IMAP, and through the aiosmtpd endpoint), threaded, cleaned of quoted history,
guarded against loops and bounces; replies queued with their event and sent through a real
SMTP relay on loopback by the outbox worker."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions import mail_out
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.mail_in import Taken, ingest
from proofdesk.actions.mailboxes import MailboxSpec, do_create_mailbox
from proofdesk.actions.tickets import do_add_message
from proofdesk.app.local import free_port
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.errors import Error
from proofdesk.mail.compose import BadHeader, Outgoing, build
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket
from proofdesk.store.models import (
    MailAddressState,
    Mailbox,
    MailImport,
    MailOutbox,
    Message,
    Ticket,
    User,
)
from proofdesk.workers.mail_outbox import MailOutbox as OutboxWorker
from proofdesk.workers.mail_outbox import smtp_sender
from proofdesk.workers.mail_poll import MailPoller
from proofdesk.workers.mail_smtp import MailSmtpEndpoint
from tests.support.mail import Relay, dovecot, relay
from tests.support.tenants import Tenant


@dataclass
class Desk:
    db: Database
    settings: Settings
    tenant: Tenant
    mailbox_id: str
    address: str
    relay: Relay

    def take(self, raw: bytes) -> Taken:
        return ingest(
            self.db, BlobStore(self.settings.blob_dir), self.settings, self.mailbox_id, raw
        )

    def send_outbox(self) -> int:
        return OutboxWorker(self.db, smtp_sender(self.relay.mailer()), 0).step()

    def messages(self, ticket_id: str) -> list[Message]:
        with self.db.reader() as session:
            rows = session.scalars(
                select(Message).where(Message.ticket_id == ticket_id).order_by(Message.seq)
            ).all()
            for row in rows:
                session.expunge(row)
            return list(rows)


@pytest.fixture
def desk(db: Database, settings: Settings, tenant: Tenant) -> Iterator[Desk]:
    address = f"support@{tenant.slug}.example"
    with db.writer() as session:
        admin = Actor(tenant.admin.user_id, tenant.org_id, Role.ADMIN)
        assert db.keyring is not None
        box = do_create_mailbox(session, admin, db.keyring, MailboxSpec(address=address))
        mailbox_id = box.id
    with relay() as kept:
        yield Desk(db, settings, tenant, mailbox_id, address, kept)


def mail(
    desk: Desk,
    body: str,
    *,
    sender: str = "alice@customer.example",
    subject: str = "Withdrawal stuck",
    to: str | None = None,
    headers: dict[str, str] | None = None,
    charset: str = "utf-8",
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = to or desk.address
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body, charset=charset)
    return message.as_bytes()


def reply_to_last(desk: Desk) -> EmailMessage:
    return desk.relay.messages()[-1]


def agent_reply(client: TestClient, desk: Desk, ticket_id: str, body: str) -> None:
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": body},
        headers=desk.tenant.agent.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "email"


def test_a_thread_of_five_mails_stays_one_ticket_of_five_clean_messages(
    client: TestClient, desk: Desk
) -> None:
    first = desk.take(mail(desk, "My USDT withdrawal has been pending for 3 hours."))
    assert first.outcome == "ticket"
    ticket_id = first.ticket_id
    assert ticket_id is not None

    agent_reply(client, desk, ticket_id, "We are checking it: which transaction hash?")
    assert desk.send_outbox() == 1
    ours = reply_to_last(desk)
    assert ours.get_content_type() == "multipart/alternative"
    assert ours["In-Reply-To"].strip("<>") == first.message_id
    assert ours["Reply-To"].startswith(desk.address.split("@")[0] + "+")
    assert "Auto-Submitted" not in ours  # a person wrote this one
    our_id = ours["Message-ID"].strip("<>")
    subject = str(ours["Subject"])

    gmail = mail(
        desk,
        "The hash is 0xabc123.\n\nOn Tue, Dec 1, 2026 at 10:00 AM Acme Support <"
        + desk.address
        + ">\nwrote:\n> We are checking it: which transaction hash?\n",
        subject=subject,
        headers={"In-Reply-To": f"<{our_id}>", "References": f"<{first.message_id}> <{our_id}>"},
    )
    assert desk.take(gmail).ticket_id == ticket_id

    outlook = mail(
        desk,
        "I also tried again this morning.\n\n________________________________\n"
        "From: Acme Support <" + desk.address + ">\nSent: Tuesday, December 1, 2026 10:00\n"
        "To: Alice\nSubject: " + subject + "\n\nWe are checking it.\n",
        subject="RE: " + subject,
        to=str(ours["Reply-To"]),
    )
    assert desk.take(outlook).ticket_id == ticket_id

    foxmail = mail(
        desk,
        "还是没有到账，请尽快处理。\n\n------------------ 原始邮件 ------------------\n"
        '发件人: "Acme" <' + desk.address + ">;\n发送时间: 2026年12月1日(星期二) 上午10:00\n"
        '收件人: "Alice";\n主题: ' + subject + "\n\n我们正在核查。\n",
        subject="回复：" + subject,
        charset="gb18030",
    )
    assert desk.take(foxmail).ticket_id == ticket_id

    messages = desk.messages(ticket_id)
    assert [m.body for m in messages] == [
        "My USDT withdrawal has been pending for 3 hours.",
        "We are checking it: which transaction hash?",
        "The hash is 0xabc123.",
        "I also tried again this morning.",
        "还是没有到账，请尽快处理。",
    ]
    assert {m.channel for m in messages} == {"email"}
    for m in messages:  # each mail's whole original is kept beside its clean text
        names = [a["filename"] for a in json.loads(m.attachments)]
        assert names == (["original.eml"] if m.author_role == "customer" else []), m.body
    with desk.db.reader() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.organization_id == desk.tenant.org_id)
            )
            == 1
        )


def test_another_customers_ticket_number_in_a_forward_opens_a_new_ticket(desk: Desk) -> None:
    first = desk.take(mail(desk, "Please refund order 42."))
    with desk.db.reader() as session:
        ticket = session.get(Ticket, first.ticket_id)
        assert ticket is not None
        number = ticket.number
    forwarded = desk.take(
        mail(
            desk,
            "Look at this, I have the same problem.\n\n---------- Forwarded message ---------\n",
            sender="mallory@elsewhere.example",
            subject=f"Fwd: Re: Please refund [#{number}]",
        )
    )
    assert forwarded.outcome == "ticket"
    assert forwarded.ticket_id != first.ticket_id
    assert len(desk.messages(first.ticket_id or "")) == 1


def test_an_auto_reply_loop_stops_after_one_message(client: TestClient, desk: Desk) -> None:
    first = desk.take(mail(desk, "Where is my deposit?"))
    assert first.ticket_id is not None
    agent_reply(client, desk, first.ticket_id, "Which network did you use?")
    assert desk.send_outbox() == 1
    ours = reply_to_last(desk)
    for headers, subject in [
        ({"Auto-Submitted": "auto-replied"}, "Re: x"),
        ({"Precedence": "bulk"}, "Re: x"),
        ({"X-Auto-Response-Suppress": "All"}, "Re: x"),
        ({}, "Automatic reply: out of office"),
        ({}, "自动回复：我正在休假"),
    ]:
        taken = desk.take(
            mail(
                desk,
                "I am away until Monday.",
                subject=subject,
                headers={"In-Reply-To": str(ours["Message-ID"]), **headers},
            )
        )
        assert taken.outcome == "loop", (headers, subject)
    assert desk.take(mail(desk, "loop", sender=desk.address)).outcome == "loop"
    assert len(desk.messages(first.ticket_id)) == 2
    assert desk.send_outbox() == 0  # nothing answered the auto-replies


def test_the_same_message_id_is_taken_in_once(desk: Desk) -> None:
    raw = mail(desk, "Hello?")
    assert desk.take(raw).outcome == "ticket"
    assert desk.take(raw).outcome == "duplicate"
    with desk.db.reader() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(MailImport)
                .where(MailImport.organization_id == desk.tenant.org_id)
            )
            == 1
        )


def test_a_mail_bomb_and_a_huge_mail_are_quarantined_with_a_reason(desk: Desk) -> None:
    bomb = EmailMessage()
    bomb["From"] = "bomber@evil.example"
    bomb["To"] = desk.address
    bomb["Subject"] = "boom"
    bomb["Message-ID"] = make_msgid(domain="evil.example")
    bomb.set_content("x")
    for i in range(10_000):
        bomb.add_attachment(b"a", maintype="application", subtype="octet-stream", filename=f"{i}")
    taken = desk.take(bomb.as_bytes())
    assert taken.outcome == "quarantined"
    assert "parts" in (taken.reason or "")
    big = mail(desk, "y" * (desk.settings.mail_max_bytes + 1))
    taken = desk.take(big)
    assert taken.outcome == "quarantined"
    assert "larger" in (taken.reason or "")


def test_a_bounce_marks_the_address_failing_and_tells_the_agents(
    client: TestClient, desk: Desk
) -> None:
    first = desk.take(mail(desk, "Help", sender="gone@customer.example"))
    assert first.ticket_id is not None
    agent_reply(client, desk, first.ticket_id, "Sure, what happened?")
    assert desk.send_outbox() == 1
    ours = reply_to_last(desk)
    report = (
        "From: MAILER-DAEMON@mx.customer.example\r\nTo: " + desk.address + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: " + str(ours["Message-ID"]) + "\r\nSubject: x\r\n\r\n--B--\r\n"
    ).encode()
    taken = desk.take(report)
    assert taken.outcome == "bounce"
    assert taken.ticket_id == first.ticket_id
    with desk.db.reader() as session:
        state = session.get(MailAddressState, (desk.tenant.org_id, "gone@customer.example"))
        assert state is not None and state.failing
    notes = [m for m in desk.messages(first.ticket_id) if m.visibility == "internal"]
    assert notes and "bounced" in notes[-1].body
    agent_reply(client, desk, first.ticket_id, "Are you there?")
    assert desk.send_outbox() == 0  # replies to a failing address are held


def test_sender_trust_comes_from_authentication_results(desk: Desk) -> None:
    forged = desk.take(
        mail(
            desk,
            "Send my funds to 0xdead.",
            headers={"Authentication-Results": "mx.acme.test; dkim=fail; spf=fail; dmarc=fail"},
        )
    )
    good = desk.take(
        mail(
            desk,
            "Hello",
            sender="bob@customer.example",
            headers={"Authentication-Results": "mx.acme.test; dkim=pass header.d=customer.example"},
        )
    )
    trust = [desk.messages(t.ticket_id or "")[0].channel_ids for t in (forged, good)]
    assert '"trust": "fail"' in trust[0] and '"trust": "pass"' in trust[1]


def test_a_new_sender_becomes_one_customer_by_address(desk: Desk) -> None:
    desk.take(mail(desk, "one", sender="new@customer.example"))
    desk.take(mail(desk, "two", sender="NEW@customer.example", subject="Another question"))
    with desk.db.reader() as session:
        count = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.organization_id == desk.tenant.org_id, User.email == "new@customer.example")
        )
    assert count == 1


class Boom(Exception):
    pass


def _reply_then_fail(desk: Desk, ticket_id: str, before: int) -> None:
    with desk.db.writer() as session:
        row = lock_ticket(session, ticket_id)
        assert row is not None
        agent = Actor(desk.tenant.agent.user_id, desk.tenant.org_id, Role.AGENT)
        do_add_message(session, agent, row, body="x")
        assert _outbox_count_in(session) == before + 1  # queued with the event…
        raise Boom


def test_a_rolled_back_reply_queues_nothing(desk: Desk) -> None:
    first = desk.take(mail(desk, "Hi"))
    before = _outbox_count(desk)
    with pytest.raises(Boom):
        _reply_then_fail(desk, first.ticket_id or "", before)
    assert _outbox_count(desk) == before  # …and gone with it
    assert desk.send_outbox() == 0


def _outbox_count_in(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(MailOutbox)) or 0)


def _outbox_count(desk: Desk) -> int:
    with desk.db.reader() as session:
        return _outbox_count_in(session)


def test_a_sender_killed_between_the_event_and_the_send_delivers_once_after_restart(
    client: TestClient, desk: Desk
) -> None:
    first = desk.take(mail(desk, "Hi"))
    agent_reply(client, desk, first.ticket_id or "", "Hello from support")
    now = utc_now()
    with desk.db.reader() as session:
        (row_id,) = mail_out.due(session, now)
    with desk.db.writer() as session:  # the killed sender had claimed the row, then died
        assert mail_out.do_claim(session, row_id, now) is not None
    assert desk.send_outbox() == 0  # its lease still holds: nobody else sends it
    later = lambda: now + mail_out.LEASE + timedelta(seconds=1)  # noqa: E731
    restarted = OutboxWorker(desk.db, smtp_sender(desk.relay.mailer()), 0, now=later)
    assert restarted.step() == 1
    assert restarted.step() == 0
    assert OutboxWorker(desk.db, smtp_sender(desk.relay.mailer()), 0, now=later).step() == 0
    assert len(desk.relay.received) == 1


def test_a_subject_with_a_line_break_cannot_add_a_header() -> None:
    with pytest.raises(BadHeader):
        build(
            Outgoing(
                message_id="x@acme.test",
                sender="support@acme.test",
                recipient="a@b.example",
                subject="Hello\r\nBcc: everyone@evil.example",
                text="t",
                html="<p>t</p>",
            )
        )
    assert issubclass(BadHeader, Error)


def test_imap_polling_takes_each_mail_once_across_restarts_and_two_pollers(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    with dovecot() as server:
        with db.writer() as session:
            assert db.keyring is not None
            box = do_create_mailbox(
                session,
                Actor(tenant.admin.user_id, tenant.org_id, Role.ADMIN),
                db.keyring,
                MailboxSpec(
                    address=f"help@{tenant.slug}.example",
                    imap_host="127.0.0.1",
                    imap_port=server.port,
                    imap_security="plain",
                    imap_user=server.user,
                    imap_password=server.password,
                ),
            )
            mailbox_id = box.id
        ids = []
        for n in range(3):
            message = EmailMessage()
            message["From"] = f"c{n}@customer.example"
            message["To"] = server.user
            message["Subject"] = f"Question {n}"
            message["Message-ID"] = make_msgid(domain="customer.example")
            ids.append(message["Message-ID"].strip("<>"))
            message.set_content(f"Question number {n}")
            server.append(message.as_bytes())
        one, two = MailPoller(db, settings, 0), MailPoller(db, settings, 0)
        assert one.poll(mailbox_id) == 3
        assert two.poll(mailbox_id) == 0  # a second process, and a restart
        with db.writer() as session:  # the position is lost: the Message-IDs still guard
            row = session.get(Mailbox, mailbox_id)
            assert row is not None
            row.last_uid = 0
        assert MailPoller(db, settings, 0).poll(mailbox_id) == 0
        with db.reader() as session:
            found = session.scalars(
                select(MailImport.message_id).where(MailImport.organization_id == tenant.org_id)
            ).all()
            row = session.get(Mailbox, mailbox_id)
            assert row is not None and row.last_error is None and row.last_uid == 3
        assert sorted(found) == sorted(ids)


def test_the_inbound_smtp_endpoint_takes_mail_and_refuses_unknown_recipients(
    db: Database, settings: Settings, desk: Desk
) -> None:
    port = free_port()
    endpoint = MailSmtpEndpoint(
        db, settings.model_copy(update={"mail_inbound_smtp": f"127.0.0.1:{port}"})
    )
    endpoint.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "carol@customer.example",
                [desk.address],
                mail(desk, "Sent through the endpoint", sender="carol@customer.example"),
            )
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("carol@customer.example", ["nobody@elsewhere.example"], b"x")
    finally:
        endpoint.stop()
    with db.reader() as session:
        imported = session.scalars(
            select(MailImport).where(MailImport.sender == "carol@customer.example")
        ).all()
        assert [i.outcome for i in imported] == ["ticket"]


_KILLED_SENDER = """
import sys, time
from pathlib import Path
from proofdesk.ledger.keys import Keyring
from proofdesk.store.db import Database
from proofdesk.workers.mail_outbox import MailOutbox

url, key, ready = sys.argv[1:4]
db = Database(url, keyring=Keyring.from_file(Path(key)))

def send(message):
    Path(ready).write_text(str(message["Message-ID"]))
    time.sleep(600)  # killed here: the row is claimed, the mail not yet sent

MailOutbox(db, send, 0).step()
"""


def test_a_sender_process_killed_before_the_send_delivers_once_after_restart(
    client: TestClient, desk: Desk, backend: tuple[str, Path], tmp_path: Path
) -> None:
    first = desk.take(mail(desk, "Hi"))
    agent_reply(client, desk, first.ticket_id or "", "Hello from support")
    ready = tmp_path / "claimed"
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _KILLED_SENDER, backend[0], str(backend[1] / "data.key"), str(ready)]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the sender never reached the send"
    finally:
        child.kill()
        child.wait()
    assert desk.send_outbox() == 0  # the dead sender's lease holds
    later = lambda: utc_now() + mail_out.LEASE + timedelta(seconds=1)  # noqa: E731
    assert OutboxWorker(desk.db, smtp_sender(desk.relay.mailer()), 0, now=later).step() == 1
    assert OutboxWorker(desk.db, smtp_sender(desk.relay.mailer()), 0, now=later).step() == 0
    assert len(desk.relay.received) == 1
    assert str(desk.relay.messages()[0]["Message-ID"]) == ready.read_text()


def test_staff_are_notified_by_e_mail_as_they_chose(client: TestClient, desk: Desk) -> None:
    first = desk.take(mail(desk, "Hi"))
    ticket_id = first.ticket_id or ""
    assigned = client.put(
        f"/api/v1/tickets/{ticket_id}/assignment",
        json={"assignee_id": desk.tenant.agent.user_id, "team_id": desk.tenant.team_id},
        headers=desk.tenant.supervisor.headers,
    )
    assert assigned.status_code == 200, assigned.text
    assert desk.send_outbox() == 1
    notice = reply_to_last(desk)
    assert notice["To"] == desk.tenant.agent.email
    assert notice["Auto-Submitted"] == "auto-replied"
    assert "assigned to you" in str(notice["Subject"])
    with desk.db.writer() as session:
        agent = session.get(User, desk.tenant.agent.user_id)
        assert agent is not None
        mail_out.do_set_notifications(session, agent, customer_replied=False)
    desk.take(mail(desk, "Any news?", headers={"In-Reply-To": f"<{first.message_id}>"}))
    assert desk.send_outbox() == 0  # turned off
    with desk.db.writer() as session:
        agent = session.get(User, desk.tenant.agent.user_id)
        assert agent is not None
        mail_out.do_set_notifications(session, agent, customer_replied=True)
    desk.take(mail(desk, "Hello??", headers={"In-Reply-To": f"<{first.message_id}>"}))
    assert desk.send_outbox() == 1
    assert "replied" in str(reply_to_last(desk)["Subject"])
    with desk.db.writer() as session, pytest.raises(Error):
        mail_out.do_set_notifications(session, agent, nonsense=True)
