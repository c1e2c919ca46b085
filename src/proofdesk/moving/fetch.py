"""Fetching attachments into the content-addressed store, with retries.

An attachment's URL is either absolute or an API path (the source desk's, fetched with its
token and retried by ``moving.http``) or a path next to the export file. What still fails is
reported by the importer, and the ticket imports without it. Fetching happens outside the
write transaction.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.imports import StoredFile
from proofdesk.domain.attachments import check_attachment
from proofdesk.domain.imported import SourceAttachment
from proofdesk.errors import Error
from proofdesk.moving.http import SourceFailed, SourceHttp


@dataclass
class Fetcher:
    blobs: BlobStore
    max_bytes: int
    allowed: tuple[str, ...]
    #: Where relative paths are read from (the export file's folder).
    base_dir: Path | None = None
    #: The source's API (its address and token), for absolute URLs and ``/api/…`` paths.
    http: SourceHttp = field(default_factory=SourceHttp)

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
        if url.startswith("/") and self.http.base_url is not None:
            return self._http(self.http.absolute(url))
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
        try:
            return self.http.get(url, self.max_bytes).body
        except SourceFailed as exc:
            raise _Failed(exc.message) from None


class _Failed(Exception):
    pass
