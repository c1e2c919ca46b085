"""``Idempotency-Key`` for create endpoints: a retried request gets the first response.

The key is checked and the response stored inside the same write transaction as the create,
which holds the sequencer lock, so two concurrent requests with one key cannot both create.
Reusing a key with a different body is a 409, as in the IETF idempotency-key draft.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.canonical import utc_now
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.store.db import Database
from proofdesk.store.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY = 200


def idempotent_create(
    request: Request,
    db: Database,
    actor: Actor,
    body: BaseModel | None,
    create: Callable[[Session], BaseModel],
    *,
    status_code: int = 201,
    fingerprint_extra: str = "",
) -> JSONResponse:
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput(f"{HEADER} must be 1-{MAX_KEY} characters", field=HEADER)
    payload = body.model_dump(mode="json") if body is not None else None
    fingerprint = hashlib.sha256(
        json.dumps([request.url.path, fingerprint_extra, payload], sort_keys=True).encode()
    ).hexdigest()
    with db.writer() as session:
        if key is not None:
            found = session.get(IdempotencyKey, (actor.user_id, key))
            if found is not None:
                if found.request_hash != fingerprint:
                    raise Conflict(
                        f"{HEADER} was used for a different request", code="idempotency_key_reused"
                    )
                return JSONResponse(
                    json.loads(found.response),
                    status_code=found.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
        result: dict[str, Any] = create(session).model_dump(mode="json")
        if key is not None:
            session.add(
                IdempotencyKey(
                    user_id=actor.user_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status_code,
                    response=json.dumps(result),
                    created_at=utc_now(),
                )
            )
    return JSONResponse(result, status_code=status_code)
