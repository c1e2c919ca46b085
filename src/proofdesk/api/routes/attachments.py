"""Attachment upload and download. Files are checked by content, stored by SHA-256."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from proofdesk.access import access_attachment
from proofdesk.actions.uploads import do_store_upload
from proofdesk.api.deps import ServicesDep, TicketsReader, TicketsWriter
from proofdesk.api.schemas.common import NON_JSON_ERROR_RESPONSES, AttachmentRef

router = APIRouter(prefix="/attachments", tags=["attachments"])


@router.post(
    "",
    status_code=201,
    response_model=AttachmentRef,
    summary="Upload a file to attach to a message (multipart field `file`)",
)
def upload(
    file: Annotated[UploadFile, File()], services: ServicesDep, actor: TicketsWriter
) -> AttachmentRef:
    stored = do_store_upload(
        services.db,
        services.blobs,
        services.settings,
        actor,
        file.filename,
        file.content_type,
        file.file.read(services.settings.attachment_max_bytes + 1),
    )
    return AttachmentRef.model_validate(stored, from_attributes=True)


@router.get(
    "/{attachment_id}",
    summary="Download an attachment",
    response_class=Response,
    responses={
        **NON_JSON_ERROR_RESPONSES,
        200: {
            "description": "The file, in the media type it was uploaded with",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
def download(attachment_id: str, services: ServicesDep, actor: TicketsReader) -> Response:
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
