"""The CLI as a client of a desk's REST API (``--url`` and an API token), for the commands
that work on a remote desk as well as on this machine's (``proofdesk ticket …``).

The token comes from ``PROOFDESK_REMOTE_TOKEN`` or from a file only its owner can read
(``PROOFDESK_REMOTE_TOKEN_FILE``, mode 0600, refused otherwise) — never from the command line,
where other users and the shell's history would see it; it is never printed. The API's
errors keep their code: ``error: no such ticket [not_found]`` and exit 2, like a local one.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx2

from proofdesk.errors import Error, InvalidInput
from proofdesk.ledger.keyfiles import read_private
from proofdesk.settings import Settings

API = "/api/v1"
TIMEOUT_SECONDS = 30.0


class RemoteError(Error):
    """The desk could not be reached, refused the call (with the API's own code), or answered
    something that is not the API's JSON."""

    code = "remote_error"


class Remote:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._client = httpx2.Client(
            base_url=self.url + API,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        )

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The decoded JSON answer (``params`` that are None are left out); a write carries a
        fresh ``Idempotency-Key``, so the desk never applies one command twice."""
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method != "GET" else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}  # not "k="
        try:
            answer = self._client.request(method, path, json=body, params=query, headers=headers)
        except httpx2.HTTPError as exc:
            raise RemoteError(
                f"cannot reach {self.url}: {type(exc).__name__}", code="remote_unreachable"
            ) from None
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.is_success and data is not None:
            return data
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            raise RemoteError(str(error.get("message", "")), code=error["code"])
        raise RemoteError(
            f"{self.url} answered HTTP {answer.status_code}, not the API's JSON",
            code="remote_bad_answer",
        )


def remote_for(config: Settings, url: str | None) -> Remote:
    """The desk at ``url``, else ``remote_url``, else this deployment's own server, with the
    configured token."""
    target = url or config.remote_url or config.base_url
    if not target.startswith(("http://", "https://")):
        raise InvalidInput(f"{target!r} is not an http(s) address", code="remote_url_invalid")
    if config.remote_token is not None:
        token = config.remote_token.get_secret_value()
    elif config.remote_token_file is not None:
        token = read_private(config.remote_token_file, "remote_token_file").strip()
    else:
        raise InvalidInput(
            "set PROOFDESK_REMOTE_TOKEN or PROOFDESK_REMOTE_TOKEN_FILE to an API token",
            code="remote_token_missing",
        )
    return Remote(target, token)
