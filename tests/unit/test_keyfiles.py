"""Secret files made on first use: processes starting together agree on one key, and none of
them ever reads a file another has only begun to write."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from proofdesk.errors import ConfigError
from proofdesk.ledger.keyfiles import read_or_create_private


def test_many_starters_at_once_read_one_whole_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "webhook.key"
    made = iter(range(1000))
    lock = threading.Lock()

    def make() -> str:
        with lock:
            n = next(made)
        time.sleep(0.01)  # the window in which a half-written file used to be visible
        return f"key-{n:04d}-" + "x" * 4096 + "\n"

    start = threading.Barrier(16)
    seen: list[str] = []
    failures: list[BaseException] = []

    def starter() -> None:
        try:
            start.wait(timeout=10)
            seen.append(read_or_create_private(path, "webhooks_key_file", make))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=starter) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    assert len(seen) == 16 and len(set(seen)) == 1
    assert path.read_text() == seen[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["webhook.key"]


def test_an_existing_file_is_read_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "data.key"
    path.write_text("kept\n")
    path.chmod(0o600)
    assert read_or_create_private(path, "data_key_file", lambda: "new\n") == "kept\n"


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.key"
    path.write_text("kept\n")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_or_create_private(path, "data_key_file", lambda: "new\n")


def test_a_folder_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(ConfigError, match="cannot write"):
        read_or_create_private(tmp_path / "data" / "k", "data_key_file", lambda: "x\n")
