"""The one message catalog of every sentence the server shows: English (the source text, the
msgid) and Simplified Chinese.

Sentences are marked in templates with ``{% trans %}``/``_()`` and in Python with ``N_()``
where they are defined; they are translated where they are shown, with ``translate(locale,
message, **values)`` (``{name}`` placeholders) or ``gettext_for(locale)``. The catalog is
``locale/zh_CN/LC_MESSAGES/messages.po`` (gettext, maintained with Babel, see ``babel.cfg``),
read from the ``.po`` text at start-up — no compiled files in the repository. A test fails when
a sentence has no Chinese translation, or when the catalog keeps one no longer used.

The language is the user's setting when signed in, else the ``pd_lang`` cookie set by the
language switch, else the browser's ``Accept-Language``.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("en", "zh-CN")
DEFAULT = "en"
LANG_COOKIE = "pd_lang"
CATALOGS = Path(__file__).parent / "locale"


def _babel_name(locale: str) -> str:
    return locale.replace("-", "_")


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The gettext translations of ``locale`` (English: the identity)."""
    path = CATALOGS / _babel_name(locale) / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT or not path.is_file():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=_babel_name(locale))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is defined (``N_`` is the name Babel's
    extraction looks for); it is translated where it is shown."""
    return message


def NP_(context: str, message: str) -> str:
    """Mark ``message`` for the catalog under ``context``, for an English sentence that another
    place translates differently; translate it with ``translate(..., context=context)``."""
    return message


def gettext_for(locale: str) -> Callable[[str], str]:
    """The ``gettext`` of ``locale`` (English for a locale we do not speak)."""
    return translations(locale if locale in LOCALES else DEFAULT).gettext


def translate(locale: str, message: str, /, *, context: str | None = None, **values: object) -> str:
    """``message`` (its English msgid) in ``locale``, its ``{name}`` placeholders filled."""
    found = translations(locale if locale in LOCALES else DEFAULT)
    # Babel types pgettext loosely (``object``); it returns the text or ``message``.
    text = found.gettext(message) if context is None else str(found.pgettext(context, message))
    return text.format(**values) if values else text


def in_every_locale(
    message: str, /, *, context: str | None = None, **values: object
) -> dict[str, str]:
    """``message`` in each of our languages, for a text recorded with the event it explains
    (a decision's reason is written to the log once, and read later in either language)."""
    return {locale: translate(locale, message, context=context, **values) for locale in LOCALES}


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (English otherwise)."""
    wanted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            wanted.append((quality, tag.strip()))
    preferred = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    found = Locale.negotiate([_babel_name(t) for t in preferred], ["en", "zh_CN", "zh"], sep="_")
    if found is None:
        return DEFAULT
    return "zh-CN" if str(found).startswith("zh") else "en"


def choose(user_locale: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (user_locale, cookie):
        if candidate in LOCALES:
            return candidate
    return negotiate(accept_language)


def when(value: str | datetime | None, locale: str, zone: str | None = None) -> str:
    """A moment in the reader's language, in the time zone ``zone`` (an IANA name) if given,
    else in UTC (the service's clock); the zone is named after it."""
    if value is None:
        return ""
    moment = (
        datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    try:
        if zone:
            local = moment.astimezone(ZoneInfo(zone))
            return f"{format_datetime(local, 'medium', locale=_babel_name(locale))} ({zone})"
        return format_datetime(moment, "medium", locale=_babel_name(locale)) + " UTC"
    except (UnknownLocaleError, ValueError, ZoneInfoNotFoundError):
        return moment.isoformat()


#: Chinese characters: a text written with them is Chinese, whatever its writer's account says.
_CJK = re.compile(r"[\u3400-\u9fff]")


def written_in(text: str, fallback: str) -> str:
    """The locale ``text`` is written in: ``zh-CN`` when it holds Chinese, else ``fallback``."""
    return "zh-CN" if _CJK.search(text) else fallback


def number(value: Any, locale: str) -> str:
    return str(format_decimal(value, locale=_babel_name(locale)))
