"""A real ``proofdesk serve`` in a process of its own, over a deployment (data directory and
database) of its own: for the tests that kill it or send what a TestClient would not."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from proofdesk.app.local import free_port


@dataclass
class Deployment:
    """A data directory and the URL of a database of its own (and settings of its own)."""

    data: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)


def proofdesk(
    where: Deployment, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``proofdesk`` command line of this virtualenv on the deployment."""
    return subprocess.run(  # noqa: S603 - our own command line
        [str(Path(sys.executable).parent / "proofdesk"), *args],
        env=environment(where),
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def environment(where: Deployment) -> dict[str, str]:
    """This process's environment without its PROOFDESK_* settings, plus the deployment's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
    return (
        env
        | {
            "PROOFDESK_DATA_DIR": str(where.data),
            "PROOFDESK_DATABASE_URL": where.url,
            "PROOFDESK_ENV_FILE": str(where.data / "none.env"),
            "PROOFDESK_LOG_LEVEL": "warning",
            "PROOFDESK_CHECKPOINT_INTERVAL_SECONDS": "0.2",
            # Tests read whole logs tile by tile and poll checkpoints every 0.2 s, far faster
            # than a stranger may.
            "PROOFDESK_PUBLIC_RATE_PER_MINUTE": "1000000",
            "PROOFDESK_TILES_RATE_PER_MINUTE": "1000000",
        }
        | where.env
    )


def start(where: Deployment) -> tuple[subprocess.Popen[bytes], str]:
    """``proofdesk serve`` on a free port, in a session of its own (so a test can SIGKILL the
    whole group); returns the process and its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "proofdesk"), "serve", "--port", str(port)],
        env=environment(where),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process, url
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("server did not start")
