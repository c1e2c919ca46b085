"""``POST /api/v1/telegram/{bot_id}/webhook``: where Telegram delivers a bot's updates in
production (``setWebhook`` with our ``secret_token``; ``proofdesk telegram set-webhook``).

No credential but the secret token: every call is counted against the per-address window
first, then the header is compared in constant time (401 ``telegram_secret_missing``, 403
``telegram_secret_wrong``), and only then is the body read as an update. A duplicate
``update_id`` answers 200 and does nothing. An update we refuse (missing fields, a text over
Telegram's limit) answers 200 with the reason, since Telegram would only send it again; a body
that is no update at all answers 422 ``bad_telegram_update``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from proofdesk.actions.telegram_bots import SECRET_HEADER, check_webhook_secret
from proofdesk.actions.telegram_in import Desk, take_update
from proofdesk.app.limits import Kind, per_address
from proofdesk.app.services import services_of
from proofdesk.telegram.updates import BadUpdate, decode, update_id_of

#: The API's error shape (``ErrorOut``, declared by the API's own operations) for the answers
#: this route gives; named by reference, since an adapter does not import another.
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": _ERROR}
    for status, description in (
        (401, "The secret token is missing"),
        (403, "The secret token is wrong"),
        (404, "No such bot"),
        (409, "The bot polls for its updates"),
        (413, "The body is too large"),
        (422, "The body is not an update"),
        (429, "Too many requests from this address"),
    )
}

router = APIRouter(prefix="/api/v1", tags=["telegram"], responses=RESPONSES)


@router.post(
    "/telegram/{bot_id}/webhook",
    dependencies=[per_address(Kind.TELEGRAM)],
    summary="A Telegram update for the bot (Telegram's webhook; checked by its secret token)",
)
async def telegram_webhook(bot_id: str, request: Request) -> dict[str, Any]:
    services = services_of(request)
    keyring = services.db.keyring
    assert keyring is not None

    def check() -> None:
        with services.db.reader() as session:
            check_webhook_secret(session, keyring, bot_id, request.headers.get(SECRET_HEADER))

    await run_in_threadpool(check)
    data = decode(await request.body())
    if update_id_of(data) is None:
        raise BadUpdate("the update has no update_id", reason="no_update_id")
    desk = Desk(services.db, services.settings, services.blobs, services.assistant)
    taken = await run_in_threadpool(take_update, desk, bot_id, data)
    return {"ok": True, "outcome": taken.outcome, "reason": taken.reason}
