"""Secret files of a deployment (the log's signing key, the data key): created once with mode
0600, refused when other users can read them."""

from __future__ import annotations

import os
import stat
import tempfile
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
    """The text of the secret file at ``path``, writing ``make()`` there first (mode 0600) if it
    does not exist. The text is written in full to a file of its own and then linked into place,
    which fails if ``path`` exists: two processes starting together agree on one key, and
    neither ever reads a file the other has only begun to write."""
    if path.exists():
        return read_private(path, setting)
    text = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}", key=setting) from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return read_private(path, setting)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}", key=setting) from None
    finally:
        os.unlink(tmp)
    return text
