"""The service on a loopback port in a thread of this process: for the browser tests and the
web benchmark, which drive a real browser against a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from proofdesk.app.factory import create_app
from proofdesk.settings import Settings
from proofdesk.store.db import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    settings: Settings, db: Database, timeout: float = 30, port: int | None = None
) -> Iterator[str]:
    """Serve the app on 127.0.0.1 (``port``, or a free one) until the block ends; yields its
    base URL. Give the port of ``settings.base_url`` where the pages must be on the public URL
    (a wallet's sign-in message names it)."""
    port = free_port() if port is None else port
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="proofdesk-local", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise RuntimeError("the local server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
