"""Reading a source desk over HTTP: one GET with retries, shared by the REST readers (pages of
tickets) and the attachment fetcher (files).

A 429 or 5xx answer is retried after the ``Retry-After`` the server asked for (bounded) or an
exponential back-off; a connection that fails is retried the same way. The source's token is
sent to the source's own API only (URLs under ``base_url``), never to another host a ticket
links to, and it is never part of an error message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from proofdesk.errors import InvalidInput

RETRIED = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 60.0
#: A page of a source's API larger than this is refused (its pages are a few MB at most).
MAX_PAGE_BYTES = 64 << 20


class SourceFailed(InvalidInput):
    """The source's API could not be read: refused (401/403/404…) or still failing after the
    retries. The run stops; what was written before stays whole, and a new run resumes."""

    code = "import_source_failed"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: Message


@dataclass
class SourceHttp:
    #: The source desk's address (``https://acme.zendesk.com``); relative paths are under it.
    base_url: str | None = None
    #: Its API's headers (the token), sent to ``base_url`` only.
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0

    def absolute(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        if url.startswith("/") and self.base_url is not None:
            url = self.base_url.rstrip("/") + url
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
            url += ("&" if "?" in url else "?") + query
        return url

    def own(self, url: str) -> bool:
        return self.base_url is not None and url.startswith(self.base_url.rstrip("/") + "/")

    def get(self, url: str, max_bytes: int) -> Answer:
        """The answer to ``GET url`` (absolute), read up to ``max_bytes + 1`` bytes; raises
        ``SourceFailed`` when refused or still failing after the retries."""
        last = ""
        for attempt in range(self.attempts):
            request = urllib.request.Request(url, headers=self.headers if self.own(url) else {})  # noqa: S310 - http(s) only, checked by the callers
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return Answer(response.status, response.read(max_bytes + 1), response.headers)
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code not in RETRIED:
                    break
                self.sleep(self.wait(exc.headers.get("Retry-After"), attempt))
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
                self.sleep(self.wait(None, attempt))
        raise SourceFailed(f"{_shown(url)}: {last} after {attempt + 1} attempts")

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, Answer]:
        """The JSON document at ``url`` (a path under ``base_url`` or an absolute URL)."""
        target = self.absolute(url, params)
        answer = self.get(target, MAX_PAGE_BYTES)
        if len(answer.body) > MAX_PAGE_BYTES:
            raise SourceFailed(f"{_shown(target)}: the page is over {MAX_PAGE_BYTES} bytes")
        try:
            return json.loads(answer.body), answer
        except (ValueError, UnicodeDecodeError):
            raise SourceFailed(f"{_shown(target)}: the answer is not JSON") from None

    def wait(self, retry_after: str | None, attempt: int) -> float:
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_WAIT_SECONDS)
            except ValueError:
                pass
        return float(min(self.backoff * 2**attempt, MAX_WAIT_SECONDS))


def _shown(url: str) -> str:
    """A URL as errors show it: without its query (cursors can be long) or credentials."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.scheme else url
