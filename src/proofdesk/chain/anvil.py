"""A development node on loopback: anvil, as ``make`` installs it from npm.

The chain integration tests and the anchoring benchmark both run against a real node rather
than the embedded chain, so that reverts, reorganisations, dropped transactions and restarts
are the node's own. ``Anvil`` starts one, stops it as an operator would (its state file is
written on the way out), restarts it on the same port and speaks raw JSON-RPC for the
``evm_*``/``anvil_*`` methods that web3 does not wrap. It is a tool for development and tests:
nothing in ``serve`` uses it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from proofdesk.chain.base import ChainError, ChainUnavailable
from proofdesk.chain.embedded import dev_accounts
from proofdesk.chain.rpc import RpcChain

ANVIL_CHAIN_ID = 31337
START_SECONDS = 20
# anvil prints this line once it accepts connections; with ``--port 0`` it is the only place
# that names the port the system chose, which is why the first start is not ``--silent``.
_LISTENING = re.compile(rb"Listening on 127\.0\.0\.1:(\d+)")


class AnvilNotInstalled(ChainUnavailable):
    code = "anvil_not_installed"


def anvil_binary(root: Path) -> Path:
    """The anvil executable under ``root/node_modules`` (the platform package's binary, else
    the npm wrapper), else one on ``PATH``."""
    found = sorted(root.glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))
    if found:
        return found[0]
    wrapper = root / "node_modules" / ".bin" / "anvil"
    if wrapper.exists():
        return wrapper
    on_path = shutil.which("anvil")
    if on_path is not None:
        return Path(on_path)
    raise AnvilNotInstalled(
        "anvil is not installed (run `npm ci`, or `make test`, which does)", root=str(root)
    )


class Anvil:
    """One anvil node on 127.0.0.1, which callers stop, restart and rewind.

    The first start lets the system choose a free port (no race with another process picking
    the same one); later starts reuse it, so URLs handed out before a restart stay valid."""

    def __init__(
        self,
        workdir: Path,
        *,
        root: Path | None = None,
        state: bool = True,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.binary = anvil_binary(Path.cwd() if root is None else root)
        self.workdir = workdir
        self.extra = extra
        self.port: int | None = None
        self.state_file = workdir / "anvil-state.json" if state else None
        self.log = workdir / "anvil.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ChainError("anvil has not been started yet")
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, keep_state: bool = True) -> Anvil:
        """Start the node and wait until it answers; returns ``self``."""
        args = [str(self.binary), "--host", "127.0.0.1", *self._port_args(), *self.extra]
        if self.state_file is not None:
            if not keep_state and self.state_file.exists():
                self.state_file.unlink()
            args += ["--state", str(self.state_file)]
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.port is None:
                self.port = self._listening_port(offset)
            if self.port is not None and self._answers():
                return self
            if self.proc.poll() is not None:
                raise ChainUnavailable(f"anvil exited: {self._log_tail(offset)}")
            if time.monotonic() > deadline:
                self.stop()
                raise ChainUnavailable(f"anvil did not start: {self._log_tail(offset)}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM): anvil writes its state file on the way out."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def rpc(self, method: str, *params: Any) -> Any:
        """Call a JSON-RPC method directly; a JSON-RPC error raises :class:`ChainError`."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        request = urllib.request.Request(  # noqa: S310 - loopback http
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            answer = json.loads(response.read())
        if "error" in answer:
            raise ChainError(f"{method}: {answer['error']}")
        return answer["result"]

    def chain(self, *, confirmations: int = 1, retries: int = 4) -> RpcChain:
        """A client of this node that signs with the first development account."""
        return RpcChain(
            self.url,
            dev_accounts()[0],
            expected_chain_id=ANVIL_CHAIN_ID,
            confirmations=confirmations,
            retries=retries,
            backoff=0.05,
        )

    def _port_args(self) -> list[str]:
        if self.port is None:
            return ["--port", "0"]
        return ["--port", str(self.port), "--silent"]

    def _listening_port(self, offset: int) -> int | None:
        found = _LISTENING.search(self.log.read_bytes()[offset:])
        return int(found.group(1)) if found else None

    def _answers(self) -> bool:
        try:
            self.rpc("eth_chainId")
        except OSError:
            return False
        return True

    def _log_tail(self, offset: int) -> str:
        return self.log.read_bytes()[offset:][-2000:].decode(errors="replace")
