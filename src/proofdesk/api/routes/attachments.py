"""Attachment upload and download. Files are checked by content, stored by SHA-256."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from proofdesk.access import Actor, access_attachment, require_scope
from proofdesk.api.deps import ActorDep, Services, ServicesDep
from proofdesk.api.schemas import AttachmentRef
from proofdesk.canonical import utc_now
from proofdesk.domain.attachments import check_attachment
from proofdesk.domain.roles import Role, Scope
from proofdesk.errors import Forbidden
from proofdesk.settings import Settings
from proofdesk.store.models import Attachment

#: Multipart overhead allowed on top of the attachment size limit.
UPLOAD_OVERHEAD = 64 * 1024


def upload_body_limit(settings: Settings) -> int:
    """Uploads get a body limit of their own, larger than the JSON one."""
    return settings.attachment_max_bytes + UPLOAD_OVERHEAD


router = APIRouter(prefix="/attachments", tags=["attachments"])


@router.post(
    "",
    status_code=201,
    response_model=AttachmentRef,
    summary="Upload a file to attach to a message (multipart field `file`)",
)
def upload(
    file: Annotated[UploadFile, File()], services: ServicesDep, actor: ActorDep
) -> AttachmentRef:
    return store_upload(services, actor, file)


def store_upload(services: Services, actor: Actor, file: UploadFile) -> AttachmentRef:
    """Check an uploaded file (size, type by its own bytes, no secrets in text) and store it:
    the blob by its SHA-256, a row the uploader can attach to one message. Shared by the API
    and the web forms."""
    require_scope(actor, Scope.TICKETS_WRITE)
    if actor.role is Role.AUDITOR:
        raise Forbidden("auditors have read-only access")
    settings = services.settings
    data = file.file.read(settings.attachment_max_bytes + 1)
    sha256, content_type = check_attachment(
        file.filename or "",
        file.content_type,
        data,
        max_bytes=settings.attachment_max_bytes,
        allowed=settings.attachment_types,
    )
    services.blobs.put(sha256, data)
    with services.db.writer() as session:
        row = Attachment(
            organization_id=actor.organization_id,
            sha256=sha256,
            size=len(data),
            content_type=content_type,
            filename=(file.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip(),
            uploaded_by=actor.user_id,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        return AttachmentRef(
            id=row.id,
            sha256=sha256,
            size=row.size,
            content_type=content_type,
            filename=row.filename,
        )


@router.get(
    "/{attachment_id}",
    summary="Download an attachment",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(attachment_id: str, services: ServicesDep, actor: ActorDep) -> Response:
    with services.db.reader() as session:
        row = access_attachment(session, actor, attachment_id)
    data = services.blobs.get(row.sha256)
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{row.sha256}"',
        },
    )


def _quote(name: str) -> str:
    return quote(name, safe="")
