"""The one error hierarchy of ProofDesk.

Every failure a caller can cause is an :class:`Error` with a stable machine-readable ``code``.
Each interface turns it into its own output in exactly one place: the API into
``{"error": {"code", "message", "details"}}`` with ``http_status`` (``api/errors.py``), the CLI
into a message on stderr and exit code 2 (``cli.py``). Parsing code never lets a raw
``ValueError`` or a library exception escape; it raises one of these instead.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Error(Exception):
    """Base of every error a caller can cause. Subclasses fix ``code`` and ``http_status``."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details: dict[str, Any] = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(Error):
    code = "invalid_input"
    http_status = 422


class IntegrityFailure(Error):
    """Stored data that fails its own integrity check (altered behind the application's back).
    Not the caller's fault: a 500 with a precise reason, and `proofdesk audit` says more."""

    code = "integrity_failure"
    http_status = 500


class InvalidTransition(Error):
    """A ticket status change that the state machine does not allow."""

    code = "invalid_transition"
    http_status = 409


class Conflict(Error):
    code = "conflict"
    http_status = 409


class NotFound(Error):
    code = "not_found"
    http_status = 404


class Unauthenticated(Error):
    code = "unauthenticated"
    http_status = 401


class Forbidden(Error):
    code = "forbidden"
    http_status = 403


class PayloadTooLarge(Error):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(Error):
    code = "unsupported_media_type"
    http_status = 415


class RateLimited(Error):
    code = "rate_limited"
    http_status = 429


class ConfigError(Error):
    """A setting has a value ProofDesk cannot use; the message names the key."""

    code = "config_error"
    http_status = 500
