"""A real HTTP receiver of webhooks on loopback (the standard library's threading HTTP server).

Each request is kept (path, headers, body) and answered by the receiver's ``answer`` function,
which a test may replace: a status with headers and a body, ``HANG`` (say nothing for a while),
``GARBAGE`` (bytes that are no HTTP response), or ``KILL`` (call ``on_kill`` first — the crash
tests kill a worker process while its request is in flight).
"""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from proofdesk.actions.webhooks import UrlPolicy, do_create_endpoint, do_delete_endpoint
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.webhooks.keys import signing_key
from proofdesk.webhooks.sender import Sender
from proofdesk.workers.webhooks import WebhookWorker
from tests.support.loopback import http_on_loopback
from tests.support.tenants import Tenant, actor_of

HANG = "hang"
GARBAGE = "garbage"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Answer = Callable[[Received], Any]


def ok(_: Received) -> tuple[int, dict[str, str], bytes]:
    return 204, {}, b""


@dataclass
class Receiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    answer: Answer = ok
    hang_seconds: float = 5.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def ids(self, path: str = "/hook") -> list[str]:
        return [r.webhook_id for r in self.at(path)]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with receiver.lock:
                receiver.received.append(got)
            answer = receiver.answer(got)
            if answer == HANG:
                time.sleep(receiver.hang_seconds)
                self.close_connection = True
                return
            if answer == GARBAGE:
                self.wfile.write(b"\x00\xffnot http at all\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                return
            status, headers, content = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler


@contextmanager
def receiver_on_loopback() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (an ephemeral port) until the block ends."""
    receiver = Receiver()
    with http_on_loopback(_handler(receiver)) as server:
        receiver.url = server.url  # type: ignore[attr-defined]
        yield receiver


def verify_standard(secret: str, got: Received) -> Any:
    """Verify a delivery with the ``standardwebhooks`` package (an implementation we did not
    write); returns the parsed payload or raises ``WebhookVerificationError``."""
    return Webhook(secret).verify(got.body, got.headers)


def verify_ed25519(public_key: str, got: Received) -> bool:
    """Verify a delivery's ``v1a`` signature with ``cryptography`` against the published
    ``whpk_`` key, as the Standard Webhooks specification describes it."""
    assert public_key.startswith("whpk_")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key[len("whpk_") :]))
    content = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode()
    content += got.body
    for item in got.headers["webhook-signature"].split(" "):
        version, _, signature = item.partition(",")
        if version == "v1a":
            try:
                key.verify(base64.b64decode(signature), content)
                return True
            except InvalidSignature:
                return False
    return False


def subscribe(
    db: Database, tenant: Tenant, url: str, types: list[str], **fields: Any
) -> tuple[str, str]:
    """An endpoint of ``tenant`` (made by its admin, private addresses allowed): its id and
    secret."""
    assert db.keyring is not None
    with db.writer() as session:
        row, secret = do_create_endpoint(
            session,
            actor_of(tenant.admin, tenant),
            db.keyring,
            UrlPolicy(allow_private=True),
            url=url,
            event_types=types,
            **fields,
        )
        return row.id, secret


def unsubscribe(db: Database, tenant: Tenant, endpoint_id: str) -> None:
    """Remove an endpoint with its outbox rows, so that other tests' workers find nothing."""
    with db.writer() as session:
        do_delete_endpoint(session, actor_of(tenant.admin, tenant), endpoint_id)


@contextmanager
def webhook_worker(
    db: Database,
    settings: Settings,
    *,
    timeout: float = 3.0,
    now: Callable[[], Any] | None = None,
    threads: int = 4,
) -> Iterator[WebhookWorker]:
    """A webhooks worker whose steps the test runs (interval 0), to loopback receivers;
    stopped (its connections closed) when the block ends."""
    worker = WebhookWorker(
        db,
        0,
        sender=Sender(timeout=timeout, allow_private=True),
        key=signing_key(settings.effective_webhooks_key_file),
        threads=threads,
        batch=threads * 4,
        now=now,
    )
    try:
        yield worker
    finally:
        worker.stop()


__all__ = ["WebhookVerificationError", "verify_ed25519", "verify_standard"]
