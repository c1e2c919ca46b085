"""Knowledge-base text (Markdown) as safe HTML: the one renderer for every place such text is
shown — the portal's and the widget's answers, agents' suggestions, the verification panel
and the HTML part of e-mail.

CommonMark by ``markdown-it-py`` with raw HTML off (what an author types as ``<script>`` stays
text), then ``nh3`` (the Rust ``ammonia`` sanitiser) with an allow-list of the tags the
Markdown can produce and links limited to http, https and mailto, opened with
``rel="noopener noreferrer nofollow"``. Sanitising after rendering means a flaw in one of the
two libraries alone does not let script through.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

#: The elements CommonMark (plus tables and strikethrough) renders to.
TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code",
        "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)


def to_html(text: str) -> str:
    """``text`` (Markdown) as HTML that is safe to put into a page as it is."""
    rendered = _PARSER.render(text)
    cleaned: str = nh3.clean(
        rendered,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return cleaned
