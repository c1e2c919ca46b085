"""Signing in with a link sent by e-mail, through a real SMTP server on loopback (aiosmtpd):
the message arrives in the customer's language with an unbroken Chinese subject, the link
works once and only by a click (a POST), the page never tells whether an address has an
account, staff get no links, and the mailer refuses a server without TLS off loopback."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from proofdesk.actions.accounts import do_create_user
from proofdesk.app.factory import create_app
from proofdesk.app.local import free_port
from proofdesk.canonical import utc_now
from proofdesk.channels.email.send import Mail, Mailer, MailUnavailable
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import LoginLink, User
from tests.support.tenants import make_tenant

LINK = re.compile(r"http://\S+/login/link/(\S+?)\?next=\S*")


@dataclass
class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    received: list[tuple[list[str], email.message.EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def wait(self, count: int) -> None:
        for _ in range(100):
            if len(self.received) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} messages, expected {count}")


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def mailing(
    settings: Settings, db: Database, smtp: tuple[int, Inbox]
) -> Iterator[tuple[TestClient, Inbox]]:
    port, inbox = smtp
    with_mail = settings.model_copy(
        update={
            "smtp_url": SecretStr(f"smtp://127.0.0.1:{port}"),
            "mail_from": "客服 <support@shop.example>",
        }
    )
    with TestClient(
        create_app(with_mail, db), raise_server_exceptions=False, follow_redirects=False
    ) as web:
        yield web, inbox


def customer(db: Database, org_id: str, address: str, locale: str = "zh-CN") -> str:
    with db.writer() as session:
        user = do_create_user(
            session, org_id, role=Role.CUSTOMER, display_name="王芳", email=address
        )
        user.locale = locale
        return user.id


def ask(web: TestClient, slug: str, address: str) -> Any:
    return web.post(
        "/login/link", data={"organization": slug, "email": address, "next": "/requests"}
    )


def test_a_customer_signs_in_once_with_the_link_from_her_mail(
    mailing: tuple[TestClient, Inbox], db: Database
) -> None:
    web, inbox = mailing
    tenant = make_tenant(db)
    customer(db, tenant.org_id, f"wang@{tenant.slug}.example")
    assert "E-mail me a sign-in link" in web.get("/login").text
    sent = ask(web, tenant.slug, f"Wang@{tenant.slug}.example")
    assert sent.status_code == 200 and "is on its way" in sent.text
    inbox.wait(1)
    recipients, message = inbox.received[-1]
    assert recipients == [f"wang@{tenant.slug}.example"]
    assert message["Subject"] == f"Tenant {tenant.slug} 的登录链接"  # her language
    assert "=?utf-8?" in message.as_string().split("Subject:", 1)[1].split("\n", 1)[0].lower()
    body = message.get_content()
    assert "王芳" in body and "15 分钟" in body
    found = LINK.search(body)
    assert found is not None
    token = found.group(1)
    with db.reader() as session:  # only the hash is kept
        assert (
            session.scalars(select(LoginLink).where(LoginLink.token_hash == token)).first() is None
        )

    landing = web.get(f"/login/link/{token}?next=/requests")
    assert landing.status_code == 200 and "pd_session" not in landing.cookies  # a GET uses nothing
    hostile = web.post(
        f"/login/link/{token}",
        data={"next": "/requests"},
        headers={"Origin": "https://evil.example"},
    )
    assert hostile.status_code == 403
    signed = web.post(f"/login/link/{token}", data={"next": "/requests"})
    assert signed.status_code == 303 and signed.headers["location"] == "/requests"
    assert web.get("/requests").status_code == 200
    web.cookies.clear()
    again = web.post(f"/login/link/{token}", data={"next": "/requests"})
    assert again.status_code == 401 and "已使用或已过期" not in again.text  # English browser
    assert "was used or has expired" in again.text


def test_the_page_says_the_same_whoever_asks_and_staff_get_nothing(
    mailing: tuple[TestClient, Inbox], db: Database
) -> None:
    web, inbox = mailing
    tenant = make_tenant(db)
    customer(db, tenant.org_id, f"real@{tenant.slug}.example", locale="en")
    answers = [
        ask(web, slug, address)
        for slug, address in (
            (tenant.slug, f"real@{tenant.slug}.example"),
            (tenant.slug, f"nobody@{tenant.slug}.example"),
            ("no-such-org", f"real@{tenant.slug}.example"),
            (tenant.slug, tenant.agent.email),  # staff sign in with a password
            (tenant.slug, "not an address"),
        )
    ]
    assert {a.status_code for a in answers} == {200}
    texts = {re.sub(r"\S+@\S+|not an address", "ADDRESS", a.text) for a in answers}
    assert len(texts) == 1  # nothing tells which addresses have accounts
    inbox.wait(1)
    time.sleep(0.3)
    assert [r for r, _ in inbox.received] == [[f"real@{tenant.slug}.example"]]
    assert inbox.received[0][1]["Subject"] == f"Your sign-in link for Tenant {tenant.slug}"


def test_links_expire_and_at_most_three_wait_unused(
    mailing: tuple[TestClient, Inbox], db: Database
) -> None:
    web, inbox = mailing
    tenant = make_tenant(db)
    user_id = customer(db, tenant.org_id, f"many@{tenant.slug}.example")
    for _ in range(5):
        ask(web, tenant.slug, f"many@{tenant.slug}.example")
    time.sleep(0.3)
    inbox.wait(3)
    assert len(inbox.received) == 3  # no mail-bombing a customer's inbox
    token = LINK.search(inbox.received[0][1].get_content()).group(1)  # type: ignore[union-attr]
    with db.writer() as session:
        session.execute(
            update(LoginLink)
            .where(LoginLink.user_id == user_id)
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    assert web.post(f"/login/link/{token}").status_code == 401
    ask(web, tenant.slug, f"many@{tenant.slug}.example")  # expired ones do not count
    inbox.wait(4)
    with db.writer() as session:
        session.get(User, user_id).is_active = False  # type: ignore[union-attr]
    fresh = LINK.search(inbox.received[3][1].get_content()).group(1)  # type: ignore[union-attr]
    assert web.post(f"/login/link/{fresh}").status_code == 401  # a disabled account


def test_without_a_mail_server_no_links_are_offered(client: TestClient) -> None:
    web = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    assert "sign-in link" not in web.get("/login").text
    assert web.get("/login/link").status_code == 404
    assert web.post("/login/link", data={"organization": "x", "email": "a@b.c"}).status_code == 404


def test_the_mailer_refuses_plain_text_off_loopback_and_reports_failures() -> None:
    plain = Settings(smtp_url=SecretStr("smtp://user:s3cret@127.0.0.1:1"))  # nothing listens
    mailer = Mailer.from_settings(plain)
    assert mailer is not None and mailer.password == "s3cret"
    assert "s3cret" not in repr(plain)
    with pytest.raises(MailUnavailable) as failed:
        mailer.send(Mail("a@b.example", "主题", "正文"))
    assert "s3cret" not in str(failed.value)
    message = mailer.message(Mail("a@b.example", "您的工单已解决 ✓", "正文：你好"))
    assert "您的工单已解决 ✓" not in message.as_string()  # encoded on the wire…
    parsed = email.message_from_string(message.as_string(), policy=email.policy.default)
    assert parsed["Subject"] == "您的工单已解决 ✓"  # …and whole again when read
    assert parsed.get_content().strip() == "正文：你好"
    for bad in ("http://mail.example", "smtp://", "mail.example:25"):
        with pytest.raises(ValueError, match="smtp://host"):
            Settings(smtp_url=SecretStr(bad))
