"""Fetching attachments into the content-addressed store, with retries.

An attachment's URL is either absolute (the source desk's API, fetched with its token) or a
path next to the export file. A 429 or 5xx answer is retried, after the ``Retry-After`` the
server asked for (bounded) or an exponential back-off; what still fails is reported by the
importer, and the ticket imports without it. Fetching happens outside the write transaction.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.imports import StoredFile
from proofdesk.domain.attachments import check_attachment
from proofdesk.domain.imported import SourceAttachment
from proofdesk.errors import Error

RETRIED = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 30.0


@dataclass
class Fetcher:
    blobs: BlobStore
    max_bytes: int
    allowed: tuple[str, ...]
    #: Where relative paths are read from (the export file's folder).
    base_dir: Path | None = None
    #: Prefix of relative URLs that are API paths (``/api/v1/…``) of a remote source.
    base_url: str | None = None
    #: HTTP headers of the source's API (its token), never logged.
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0

    def fetch(self, attachment: SourceAttachment) -> tuple[StoredFile | None, str | None]:
        """The stored file, or None and why it could not be."""
        try:
            data = self._bytes(attachment.url)
        except _Failed as exc:
            return None, str(exc)
        try:
            sha256, content_type = check_attachment(
                attachment.filename,
                attachment.content_type,
                data,
                max_bytes=self.max_bytes,
                allowed=self.allowed,
            )
        except Error as exc:
            return None, exc.message
        self.blobs.put(sha256, data)
        name = attachment.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
        return StoredFile(sha256, len(data), content_type, name or "attachment"), None

    def _bytes(self, url: str) -> bytes:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme in ("http", "https"):
            return self._http(url)
        if url.startswith("/") and self.base_url is not None:
            return self._http(self.base_url.rstrip("/") + url)
        if scheme or self.base_dir is None:
            raise _Failed(f"cannot fetch {url!r}")
        path = (self.base_dir / url).resolve()
        if not path.is_relative_to(self.base_dir.resolve()):
            raise _Failed(f"{url!r} is outside the export's folder")
        try:
            with path.open("rb") as handle:
                return handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise _Failed(f"{url}: {exc.strerror}") from None

    def _http(self, url: str) -> bytes:
        last = ""
        for attempt in range(self.attempts):
            # The token goes to the source's own API only, never to another host it links to.
            own = self.base_url is not None and url.startswith(self.base_url.rstrip("/") + "/")
            request = urllib.request.Request(url, headers=self.headers if own else {})  # noqa: S310 - http(s) only, checked in _bytes
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    data: bytes = response.read(self.max_bytes + 1)
                    return data
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code not in RETRIED:
                    break
                self.sleep(self._wait(exc.headers.get("Retry-After"), attempt))
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
                self.sleep(self._wait(None, attempt))
        raise _Failed(f"{url}: {last} after {self.attempts} attempts")

    def _wait(self, retry_after: str | None, attempt: int) -> float:
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_WAIT_SECONDS)
            except ValueError:
                pass
        return float(min(self.backoff * 2**attempt, MAX_WAIT_SECONDS))


class _Failed(Exception):
    pass
