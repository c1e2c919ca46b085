"""Text for Telegram's HTML parse mode. Everything we did not write ourselves goes through
:func:`escape` (``<``, ``>``, ``&`` — the three the Bot API requires); messages longer than
the Bot API's 4096 characters are cut (:func:`fit`)."""

from __future__ import annotations

import html

#: The Bot API's limit on a message's text (after entities are parsed).
MAX_TEXT = 4096


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def fit(plain: str, limit: int = MAX_TEXT - 96) -> str:
    """Plain text escaped for the HTML parse mode, cut to ``limit`` shown characters (the
    limit counts the text after entities are parsed, so the cut is made before escaping)."""
    if len(plain) > limit:
        plain = plain[:limit].rstrip() + "…"
    return escape(plain)
