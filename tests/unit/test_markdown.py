"""The one renderer of knowledge text (``domain.markdown``): Markdown becomes HTML, and no
input whatever gets script, event handlers or unsafe URLs through."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.domain.markdown import ATTRIBUTES, TAGS, URL_SCHEMES, to_html

CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<iframe src=//evil.example></iframe>",
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    "<style>body{display:none}</style>",
    "``<script>`` and `<b onclick=x>`",
    "<details open ontoggle=alert(1)>",
]


class _Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _inert(html: str) -> bool:
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        if tag not in TAGS:
            return False
        for name, value in attrs:
            if name.startswith("on") or name not in ATTRIBUTES.get(tag, set()) | {"rel"}:
                return False
            if name == "href" and urlsplit(value or "").scheme.lower() not in URL_SCHEMES | {""}:
                return False
    return True


@pytest.mark.parametrize("text", CORPUS)
def test_the_xss_corpus_comes_out_inert(text: str) -> None:
    assert _inert(to_html(text))


_PIECES = st.sampled_from(
    ["<", ">", '"', "'", "=", "on", "error", "script", "javascript:", "[a](", ")", "**", "`",
     "<img src=x ", "onerror=", "\n\n", " ", "x", "&", "#", "<a href=", "data:"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=40).map("".join))
def test_no_mix_of_dangerous_pieces_gets_through(text: str) -> None:
    assert _inert(to_html(text))


def test_markdown_becomes_html() -> None:
    html = to_html("**Confirmations.** Wait for `12` blocks.\n\n- one\n- [two](https://x.example)")
    assert "<strong>Confirmations.</strong>" in html and "<code>12</code>" in html
    assert "**" not in html and "<li>one</li>" in html
    assert "<script>" not in to_html("<script>alert(1)</script>")  # shown as text, escaped
    assert 'href="https://x.example"' in html and 'rel="noopener noreferrer nofollow"' in html
