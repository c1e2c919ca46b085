"""Secret files of a deployment (the log's signing key, the data key): created once with mode
0600, refused when other users can read them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from proofdesk.errors import ConfigError


def read_private(path: Path, setting: str) -> str:
    """The text of an existing secret file; :class:`ConfigError` if others can access it."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} is accessible to other users: chmod 600 it", key=setting)
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", key=setting) from None


def read_or_create_private(path: Path, setting: str, make: Callable[[], str]) -> str:
    """The text of the secret file at ``path``, writing ``make()`` there first (mode 0600,
    exclusively, so two processes starting together agree) if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_private(path, setting)
    text = make()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    return text
