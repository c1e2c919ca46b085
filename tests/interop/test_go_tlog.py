"""Our log read by code we did not write: a small Go program (``go/main.go``) built against
Debian's ``golang.org/x/mod/sumdb/note`` and ``golang.org/x/mod/sumdb/tlog`` verifies the
checkpoint's signature, reads the C2SP tiles through ``tlog.TileHashReader`` (which checks each
tile against the signed root), hashes the entry bundles, and checks the server's inclusion and
consistency proofs with ``tlog.CheckRecord`` and ``tlog.CheckTree``, against a real
``proofdesk serve`` on loopback.

The build is offline: GOPATH mode (``GO111MODULE=off``) with Debian's sources under
``/usr/share/gocode`` on the GOPATH, so nothing is fetched. Without ``go`` or those sources the
test skips, and fails under ``PROOFDESK_REQUIRE_ALL=1`` (``.ci/run`` installs ``golang-go`` and
``golang-golang-x-mod-dev``).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from proofdesk.verify.note import Checkpoint, split_note
from tests.support.environment import unavailable
from tests.support.server import Deployment, proofdesk, start

pytestmark = pytest.mark.server

GO_SOURCES = Path("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog")
PROGRAM = Path(__file__).parent / "go" / "main.go"


def build_go_program(out: Path) -> Path:
    go = shutil.which("go")
    if go is None or not GO_SOURCES.is_dir():
        unavailable("go or golang-golang-x-mod-dev (/usr/share/gocode) is not installed")
        raise AssertionError  # unreachable: unavailable skips or fails
    binary = out / "interop"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(out),
        "GO111MODULE": "off",  # GOPATH mode: imports resolve in Debian's sources
        "GOPATH": f"{out / 'gopath'}:/usr/share/gocode",
        "GOCACHE": str(out / "gocache"),
        "GOFLAGS": "",
        "GOPROXY": "off",
        "CGO_ENABLED": "0",
    }
    built = subprocess.run(  # noqa: S603 - our own program
        [go, "build", "-o", str(binary), str(PROGRAM)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary


def check_with_go(binary: Path, url: str, old: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own program
        [str(binary), f"{url}/api/v1/log", str(old)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def signed_size(url: str) -> int:
    text, _ = split_note(httpx2.get(f"{url}/api/v1/log/checkpoint").text)
    return Checkpoint.parse(text).size


def grow(client: httpx2.Client, url: str, at_least: int) -> int:
    """Add tickets until a signed checkpoint covers ``at_least`` leaves; its size."""
    body = {"kind": "question", "subject": "提币未到账", "body": "TRC20 USDT, 3 h"}
    while signed_size(url) < at_least:
        for _ in range(20):
            r = client.post("/api/v1/tickets", json=body)
            assert r.status_code == 201, r.text
        time.sleep(0.3)
    return signed_size(url)


def test_go_tlog_reads_our_tiles_and_checks_our_proofs(tmp_path: Path) -> None:
    binary = build_go_program(tmp_path)
    where = Deployment(tmp_path / "data", f"sqlite:///{tmp_path / 'proofdesk.db'}")
    where.data.mkdir()
    proofdesk(where, "migrate")
    proofdesk(where, "org", "create", "acme", "--name", "Acme")
    proofdesk(where, "user", "create", "c@acme.example", "--org", "acme", "--role", "customer")
    token = proofdesk(where, "token", "create", "c@acme.example", "--org", "acme").stdout.strip()
    process, url = start(where)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=url, headers=headers, timeout=10) as client:
            old = grow(client, url, 40)
            size = grow(client, url, 300)  # a full level-0 tile and a partial one
        assert size > old
        run = check_with_go(binary, url, old)
        assert run.returncode == 0, run.stdout + run.stderr
        lines = run.stdout.splitlines()
        assert len(lines) == 5 and all(line.startswith("ok ") for line in lines), run.stdout
        assert "1 signatures verified" in run.stdout
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    # The check can fail: one stored leaf hash changed, and tlog finds its tile inconsistent
    # with the hash of that tile in the level above.
    with sqlite3.connect(tmp_path / "proofdesk.db") as conn:
        conn.execute("UPDATE merkle_nodes SET hash = ? WHERE level = 0 AND idx = 7", (b"x" * 32,))
    process, url = start(where)
    try:
        run = check_with_go(binary, url, old)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert run.returncode == 1, run.stdout
    last = run.stdout.splitlines()[-1]
    assert last.startswith("FAIL ") and "inconsistent tile" in last, run.stdout
