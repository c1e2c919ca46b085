"""A header section over the limit gets 431 in the API's error shape, read by the client in
full (no connection reset), from the HTTP protocol ``proofdesk serve`` runs."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from proofdesk.app.http import LingeringH11Protocol
from tests.support.server import Deployment, proofdesk, start

LIMIT = 16 * 1024


async def tiny_app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    assert scope["type"] in ("http", "lifespan")
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@pytest.fixture
def server() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        tiny_app,
        host="127.0.0.1",
        port=port,
        http=LingeringH11Protocol,
        h11_max_incomplete_event_size=LIMIT,
        lifespan="off",
        log_level="error",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    running.should_exit = True
    thread.join(timeout=10)


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        # The server may have answered and half-closed before we finished sending.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_200_kb_of_headers_get_a_431_not_a_reset(server: int) -> None:
    big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(200))
    answer = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), head
    assert json.loads(body)["error"]["code"] == "headers_too_large"


def test_garbage_gets_a_400_and_a_normal_request_still_works(server: int) -> None:
    answer = exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "bad_request"
    ok = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200 ") and b"\r\nok\r\n" in ok


@pytest.mark.server
def test_proofdesk_serve_answers_431(tmp_path: Path) -> None:
    """The protocol is the one ``proofdesk serve`` runs, with the header limit of its settings."""
    where = Deployment(tmp_path, f"sqlite:///{tmp_path / 'proofdesk.db'}")
    proofdesk(where, "migrate")
    process, url = start(where)
    try:
        port = int(url.rsplit(":", 1)[1])
        big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(200))
        answer = exchange(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


@pytest.mark.server
def test_a_body_over_the_limit_gets_its_413_not_a_reset(tmp_path: Path) -> None:
    """The body is read and dropped before the answer (up to a bound), so the client gets the
    413 whole, and the connection can carry the next request."""
    import httpx2

    where = Deployment(tmp_path, f"sqlite:///{tmp_path / 'proofdesk.db'}")
    proofdesk(where, "migrate")
    process, url = start(where)
    try:
        body = b'{"body":"' + b"x" * 3_000_000 + b'"}'
        with httpx2.Client(base_url=url, timeout=30) as client:
            for _ in range(5):
                answer = client.post(
                    "/api/v1/tickets", content=body, headers={"content-type": "application/json"}
                )
                assert answer.status_code == 413
                assert answer.json()["error"]["code"] == "payload_too_large"
            assert client.get("/api/v1/health").status_code == 200
    finally:
        process.kill()
        process.wait()
