"""What every source reader shares: streaming a file, and checked access to its values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

import ijson

from proofdesk.canonical import format_time, parse_time
from proofdesk.domain.imported import SourcePerson, map_priority, map_status
from proofdesk.domain.tickets import Priority, Status
from proofdesk.errors import Error, InvalidInput


class BadImportFile(InvalidInput):
    code = "bad_import_file"


def records(path: Path, prefixes: tuple[str, ...] = ("item",)) -> Iterator[dict[str, Any]]:
    """The objects of an export file, one at a time: JSON lines (one object a line), or one
    JSON document whose objects are under one of ``prefixes`` (ijson paths, ``item`` for a
    top-level array). Memory stays flat whatever the file's size."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BadImportFile(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        first = _first_byte(handle)
        if first == b"[" or (first == b"{" and not _is_json_lines(handle)):
            yield from _document(handle, path, prefixes)
        else:
            yield from _lines(handle, path)


def _first_byte(handle: IO[bytes]) -> bytes:
    while True:
        byte = handle.read(1)
        if not byte or not byte.isspace():
            handle.seek(0)
            return byte


def _is_json_lines(handle: IO[bytes]) -> bool:
    """A file whose first line is a whole JSON object is JSON lines."""
    line = handle.readline()
    handle.seek(0)
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _lines(handle: IO[bytes], path: Path) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise BadImportFile(f"{path.name} line {number}: not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise BadImportFile(f"{path.name} line {number}: not a JSON object")
        yield value


def _document(handle: IO[bytes], path: Path, prefixes: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    try:
        found = False
        for item_prefix in prefixes:
            handle.seek(0)
            for value in ijson.items(handle, item_prefix, use_float=True):
                found = True
                if not isinstance(value, dict):
                    raise BadImportFile(f"{path.name}: {item_prefix} holds a non-object")
                yield value
            if found:
                return
    except ijson.JSONError as exc:
        raise BadImportFile(f"{path.name}: not JSON ({exc})") from None


def listed(
    page: Any, name: str | None, where: str, *, required: bool = True
) -> list[dict[str, Any]]:
    """The objects of the list ``name`` in a page of a source's API (the page itself when
    ``name`` is None); a page of another shape, a missing list (when ``required``) or an item
    that is not an object is refused."""
    if name is None:
        items = page
    elif not isinstance(page, dict):
        raise BadImportFile(f"{where}: the page is not a JSON object")
    else:
        items = page.get(name)
        if items is None and not required:
            return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadImportFile(f"{where}: {name or 'the page'!r} must be a list of objects")
    return items


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header, if there is one."""
    for part in (header or "").split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and url.strip().startswith("<"):
            return url.strip()[1:-1]
    return None


def field(obj: dict[str, Any], name: str, where: str) -> Any:
    if name not in obj or obj[name] is None:
        raise BadImportFile(f"{where}: {name!r} is missing")
    return obj[name]


def ident(obj: dict[str, Any], name: str, where: str) -> str:
    value = field(obj, name, where)
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value) == "":
        raise BadImportFile(f"{where}: {name!r} must be an id")
    return str(value)[:128]


def text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def time(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadImportFile(f"{where}: a time is missing")
    try:
        return format_time(parse_time(value))
    except Error:
        raise BadImportFile(f"{where}: {value!r} is not an RFC 3339 time") from None


class _Text(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(value: str) -> str:
    """The text of an HTML body (the standard library's parser): tags dropped, entities
    decoded, a line break where a block began."""
    parser = _Text()
    parser.feed(value)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


class PeopleById:
    """The people a source's objects name by id, kept for the run (people, not tickets); one
    named nowhere is a deleted user."""

    def __init__(self) -> None:
        self.by_id: dict[str, SourcePerson] = {}

    def get(self, uid: Any) -> SourcePerson:
        key = str(uid)
        return self.by_id.get(key) or SourcePerson(source_id=key, name="deleted user")


def locale_of(value: Any) -> str:
    return "zh-CN" if str(value or "").lower().startswith("zh") else "en"


def mapped(system: str, status: Any, priority: Any) -> tuple[Status, Priority, list[str]]:
    """Our status and priority for a source's, and a note for each that was guessed."""
    ours, status_note = map_status(system, status)
    level, priority_note = map_priority(system, priority)
    return ours, level, [n for n in (status_note, priority_note) if n]
