"""The HTTP/1.1 connection under uvicorn, with the two answers its h11 protocol lacks.

uvicorn answers every request it cannot parse with ``400`` and closes the socket at once. Two
consequences a client should not suffer:

- a request whose header section passes the limit (``h11_max_incomplete_event_size``) is
  answered ``400`` although h11 knows it is ``431 Request Header Fields Too Large`` (RFC 6585
  §5) and says so in ``error_status_hint``;
- closing while the client is still sending (a 200 KB header section arrives in many segments)
  makes the kernel reset the connection, and the reset destroys the answer in flight: the
  client sees ``ECONNRESET`` instead of any status at all.

:class:`LingeringH11Protocol` answers with the hinted status in the API's error shape, then
half-closes (FIN) and reads and drops what the client still sends for :data:`LINGER_SECONDS`
before closing — the "lingering close" of RFC 9112 §9.6.
"""

from __future__ import annotations

import json
import sys

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

LINGER_SECONDS = 2.0
_ANSWERS = {
    400: ("bad_request", "the request is not valid HTTP/1.1"),
    431: ("headers_too_large", "the request's header section is too large"),
}


class LingeringH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering unparseable requests with 400 or 431 and a lingering
    close. Pass it as ``uvicorn.run(..., http=LingeringH11Protocol)``."""

    _lingering = False

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from its ``except h11.RemoteProtocolError`` block, so the error
        # (with h11's status hint) is the exception being handled.
        error = sys.exception()
        hint = getattr(error, "error_status_hint", 400)
        status = hint if hint in _ANSWERS else 400
        code, message = _ANSWERS[status]
        body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=status, headers=headers),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self._linger()

    def _linger(self) -> None:
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:  # TLS cannot half-close
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a request already answered: read and dropped
        super().data_received(data)
