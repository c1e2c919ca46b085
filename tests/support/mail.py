"""Mail servers on loopback for the e-mail channel's tests: an SMTP relay (aiosmtpd) that
keeps what it is handed, and a Dovecot IMAP server started with a configuration of its own in a
temporary directory (a passwd-file user, a maildir owned by ``nobody``, a high port)."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from proofdesk.app.local import free_port
from proofdesk.mail.smtp import Mailer
from tests.support.environment import unavailable

DOVECOT = "/usr/sbin/dovecot"


@dataclass
class Relay:
    """What the relay was handed: (recipients, raw bytes) per mail."""

    port: int = 0
    received: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        found = []
        for _, raw in self.received:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found

    def mailer(self, sender: str = "Acme <support@acme.test>") -> Mailer:
        return Mailer("smtp", "127.0.0.1", self.port, None, None, sender, 5.0)


@contextmanager
def relay() -> Iterator[Relay]:
    kept = Relay(port=free_port())
    controller = Controller(kept, hostname="127.0.0.1", port=kept.port)
    controller.start()
    try:
        yield kept
    finally:
        controller.stop()


@dataclass(frozen=True)
class Dovecot:
    port: int
    user: str
    password: str

    def append(self, raw: bytes) -> None:
        """Deliver a mail into the user's INBOX (IMAP APPEND)."""
        with imaplib.IMAP4("127.0.0.1", self.port) as client:
            client.login(self.user, self.password)
            client.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
            client.logout()


_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {owner}
default_internal_group = {group}
default_login_user = {owner}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _wait(port: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


@contextmanager
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot of the test's own; skipped (failed under PROOFDESK_REQUIRE_ALL) without one.
    Its directory is made outside pytest's (mode 0700) tree: Dovecot's unprivileged processes
    must reach it."""
    if not os.path.exists(DOVECOT):
        unavailable("Dovecot is not installed (apt-get install dovecot-imapd)")
    owner = pwd.getpwuid(os.getuid()) if os.getuid() != 0 else pwd.getpwnam("nobody")
    root = Path(tempfile.mkdtemp(prefix="proofdesk-dovecot-"))
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(exist_ok=True)
    user, password, port = "support@acme.test", "imap-secret", free_port()
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
    group = owner.pw_gid
    (root / "dovecot.conf").write_text(
        _CONFIG.format(
            root=root,
            owner=owner.pw_name,
            group=_group_name(group),
            uid=owner.pw_uid,
            gid=group,
            port=port,
        )
    )
    for path in (root / "mail", root / "home", root / "state"):
        shutil.chown(path, owner.pw_uid, group)
    os.chmod(root, 0o755)  # noqa: S103 - Dovecot's unprivileged processes read it
    process = subprocess.Popen(  # noqa: S603 - our own fixed command line
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not _wait(port):
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            process.kill()
            raise RuntimeError(f"dovecot did not start: {log[-2000:]}")
        yield Dovecot(port, user, password)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _group_name(gid: int) -> str:
    return grp.getgrgid(gid).gr_name
