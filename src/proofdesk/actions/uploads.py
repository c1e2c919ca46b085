"""Storing an uploaded file, the same for ``POST /api/v1/attachments`` and the web's forms.

The file is checked by its own bytes (size, type, no secrets in text), its blob is written
under its SHA-256, then a row records it; the uploader may attach it to one message later
(``actions.tickets``), which is what puts it on a ticket and in the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from proofdesk.access import Actor, require_scope
from proofdesk.actions.blobs import BlobStore
from proofdesk.canonical import utc_now
from proofdesk.domain.attachments import check_attachment
from proofdesk.domain.roles import Role, Scope
from proofdesk.errors import Forbidden
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Attachment

#: Multipart overhead allowed on top of the attachment size limit.
UPLOAD_OVERHEAD = 64 * 1024


def upload_body_limit(settings: Settings) -> int:
    """Uploads get a body limit of their own, larger than the JSON one."""
    return settings.attachment_max_bytes + UPLOAD_OVERHEAD


@dataclass(frozen=True, slots=True)
class StoredUpload:
    id: str
    sha256: str
    size: int
    content_type: str
    filename: str


def do_store_upload(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    actor: Actor,
    filename: str | None,
    content_type: str | None,
    data: bytes,
) -> StoredUpload:
    """Check and store one file. Pass at most ``attachment_max_bytes + 1`` bytes: one more than
    allowed is enough to refuse it. The blob is written before the write transaction opens, so
    the sequencer lock is not held while a large file goes to disk; a blob without a row is
    harmless (blobs are addressed by content)."""
    require_scope(actor, Scope.TICKETS_WRITE)
    if actor.role is Role.AUDITOR:
        raise Forbidden("auditors have read-only access")
    sha256, checked_type = check_attachment(
        filename or "",
        content_type,
        data,
        max_bytes=settings.attachment_max_bytes,
        allowed=settings.attachment_types,
    )
    blobs.put(sha256, data)
    with db.writer() as session:
        row = Attachment(
            organization_id=actor.organization_id,
            sha256=sha256,
            size=len(data),
            content_type=checked_type,
            filename=(filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip(),
            uploaded_by=actor.user_id,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        return StoredUpload(row.id, sha256, row.size, checked_type, row.filename)
