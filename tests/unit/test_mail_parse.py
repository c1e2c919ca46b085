"""Parsing mail that comes in (``proofdesk.mail.parse``, ``proofdesk.mail.quotes``): Chinese
charsets and RFC 2047 headers, the quoted-history shapes of common clients, automatic mail,
delivery reports, and — as a property — that no input makes the parser raise."""

from __future__ import annotations

import base64
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.mail.address import reply_address, ticket_of
from proofdesk.mail.parse import Limits, parse
from proofdesk.mail.quotes import html_to_text, strip_quoted


def test_gb2312_declared_mail_is_read_as_gb18030() -> None:
    # 镕 is outside GB2312 but inside GBK/GB18030: clients send it under "gb2312" anyway.
    body = "朱镕基先生的提币没有到账".encode("gb18030")
    raw = (
        b"From: =?gb2312?B?" + base64.b64encode("张三".encode("gb18030")) + b"?= "
        b"<zs@example.cn>\r\nSubject: =?GBK?Q?=CC=E1=B1=D2?=\r\nMessage-ID: <g1@example.cn>\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    )
    mail = parse(raw)
    assert mail.quarantine is None
    assert mail.sender_name == "张三"
    assert mail.subject == "提币"
    assert mail.text == "朱镕基先生的提币没有到账"


def test_big5_mail_is_read() -> None:
    raw = (
        b"From: a@example.tw\r\nMessage-ID: <b1@example.tw>\r\n"
        b"Content-Type: text/plain; charset=big5\r\n\r\n" + "請幫我查詢交易".encode("big5")
    )
    assert parse(raw).text == "請幫我查詢交易"


def test_an_unknown_charset_falls_back_to_utf8() -> None:
    raw = (
        b"From: a@example.com\r\nMessage-ID: <u1@example.com>\r\n"
        b"Content-Type: text/plain; charset=x-no-such\r\n\r\nhello \xe4\xbd\xa0"
    )
    assert parse(raw).text == "hello 你"


def test_quoted_history_shapes_are_cut() -> None:
    cases = {
        "New.\n\nOn Tue, Dec 1, 2026 at 10:00 AM Support <s@a.test> wrote:\n> old": "New.",
        "New.\n\n在 2026年12月1日 10:00，Support <s@a.test> 写道：\n> old": "New.",
        "New.\n\n-----原始邮件-----\n发件人: s@a.test\n": "New.",
        "New.\n\n-----Original Message-----\nFrom: s@a.test\n": "New.",
        "New.\n\n------------------ Original ------------------\nFrom: s\n": "New.",
        "New.\n\nFrom: Support\nSent: Tuesday\nTo: Alice\nSubject: x\n\nold": "New.",
        "New.\n\n发件人: Support\n发送时间: 2026年12月1日\n收件人: Alice\n主题: x\n": "New.",
        "New.\n\n-- \nAlice, CFO\n": "New.",
        "New.\n\nSent from my iPhone": "New.",
        "> only a quote": "> only a quote",
    }
    for text, expected in cases.items():
        assert strip_quoted(text) == expected, text


def test_html_bodies_drop_quotes_and_scripts() -> None:
    html = (
        "<div>Hi<br>there</div><script>alert(1)</script>"
        '<div class="gmail_quote">On x wrote:<blockquote>old</blockquote></div>'
    )
    assert html_to_text(html) == "Hi\nthere"


def test_signed_reply_addresses_round_trip_and_refuse_forgeries() -> None:
    key = b"k" * 32
    address = reply_address(key, "support@acme.test", 42)
    assert ticket_of(key, "support@acme.test", address) == 42
    assert ticket_of(key, "support@acme.test", address.replace("42", "43", 1)) is None
    assert ticket_of(b"x" * 32, "support@acme.test", address) is None
    assert ticket_of(key, "support@acme.test", "support+42@acme.test") is None


def test_a_delivery_report_names_the_failed_recipient() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example\r\nMessage-ID: <d1@mx.example>\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <ours@acme.test>\r\n\r\n"
        b"--b--\r\n"
    )
    mail = parse(raw)
    assert mail.bounce is not None
    assert mail.bounce.failed[0][0] == "x@y.example"
    assert mail.bounce.original_message_id == "ours@acme.test"
    assert mail.automatic is None


def test_a_deeply_nested_mail_is_quarantined() -> None:
    inner = b"Content-Type: text/plain\r\n\r\nx\r\n"
    for depth in range(60):
        b = f"b{depth}".encode()
        inner = (
            b'Content-Type: multipart/mixed; boundary="'
            + b
            + b'"\r\n\r\n--'
            + b
            + b"\r\n"
            + inner
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    mail = parse(b"From: a@b.example\r\nMessage-ID: <n@b>\r\n" + inner)
    assert mail.quarantine is not None


def _message(subject: str, body: str, charset: str) -> bytes:
    message = EmailMessage()
    message["From"] = "a@b.example"
    message["Subject"] = subject.replace("\n", " ").replace("\r", " ")
    message.set_content(body, charset=charset)
    return message.as_bytes()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_no_bytes_make_the_parser_raise(raw: bytes) -> None:
    mail = parse(raw, Limits(max_bytes=3000, max_parts=20))
    assert mail.message_id


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/mixed; boundary=x\r\n",
                b"Content-Type: text/plain; charset=gb2312\r\n",
                b"Content-Type: message/delivery-status\r\n",
                b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Transfer-Encoding: quoted-printable\r\n",
                b"Subject: =?gb2312?B?zOG/7s7KzOI?=\r\n",
                b"Subject: =?x-bad?Q?=ZZ?=\r\n",
                b"From: <>\r\n",
                b'From: "\\\r\n',
                b"References: <<<a@b>\r\n",
                b"\r\n",
                b"--x\r\n",
                b"--x--\r\n",
                b"Final-Recipient: ;;\r\nAction: failed\r\n",
                b"\xff\xfe\x00garbage\r\n",
                b"=?utf-8?B?////?=\r\n",
            ]
        ),
        max_size=40,
    )
)
def test_malformed_mime_never_makes_the_parser_raise(lines: list[bytes]) -> None:
    mail = parse(b"".join(lines))
    assert isinstance(mail.clean_text, str)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200), st.text(max_size=500), st.sampled_from(["utf-8", "gb18030", "big5"]))
def test_any_text_mail_parses(subject: str, body: str, charset: str) -> None:
    try:
        raw = _message(subject, body, charset)
    except (UnicodeError, ValueError):
        return  # not representable in that charset: nothing to parse
    assert parse(raw).quarantine in (None, "no sender address")
