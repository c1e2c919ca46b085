"""One webhook attempt over HTTP, and what it came to.

A :class:`Sender` owns one ``httpx2`` client for all its threads: redirects are not followed
(a 3xx is a failed attempt, retried), proxies from the environment are ignored (they would
bypass the address check), every connection goes through
:class:`~proofdesk.webhooks.addresses.GuardedBackend`, and the whole attempt — connecting,
TLS, sending, reading the answer — ends by its deadline (15 s by default), however slowly the
receiver trickles bytes. At most :data:`EXCERPT_BYTES` of the answer are read, for the log.
Nothing here raises for what a receiver does: every outcome is an :class:`Outcome`.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpcore2
import httpx2

from proofdesk.webhooks.addresses import (
    Deadline,
    GuardedBackend,
    Resolver,
    UrlRefused,
    system_resolver,
)

EXCERPT_BYTES = 1000
USER_AGENT = "ProofDesk-Webhooks/1"
#: A ``Retry-After`` longer than this is taken as this.
MAX_RETRY_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str = ""
    #: What ``Retry-After`` asked for, in seconds (capped), if anything.
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER_SECONDS))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), MAX_RETRY_AFTER_SECONDS))


class Sender:
    """Sends attempts; thread-safe (one client, a deadline per thread)."""

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        verify: bool | str = True,
    ) -> None:
        self.timeout = timeout
        self._deadline = Deadline()
        self._options = (verify, allow_private, resolver)
        self._client: httpx2.Client | None = None
        self._lock = threading.Lock()

    def _open(self) -> httpx2.Client:
        verify, allow_private, resolver = self._options
        transport = httpx2.HTTPTransport(verify=verify, trust_env=False, retries=0)
        # The pool httpx2 built connects through the system; ours connects only where the
        # address check allows, pinned to the address it checked.
        transport._pool = httpcore2.ConnectionPool(
            ssl_context=transport._pool._ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(
                allow_private=allow_private, deadline=self._deadline, resolver=resolver
            ),
        )
        return httpx2.Client(
            transport=transport,
            timeout=httpx2.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    def client(self) -> httpx2.Client:
        """The client, opened on first use (and again after :meth:`close`)."""
        with self._lock:
            if self._client is None:
                self._client = self._open()
            return self._client

    def close(self) -> None:
        """Close the connections kept open."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def send(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        now: datetime,
        *,
        read: int = EXCERPT_BYTES,
    ) -> Outcome:
        """One POST; at most ``read`` bytes of the answer are kept (a transfer's partner
        answers with a signed acknowledgement the sender needs whole)."""
        started = time.monotonic()
        self._deadline.at = started + self.timeout

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            request_headers = {**headers, "Content-Type": "application/json"}
            with self.client().stream("POST", url, content=body, headers=request_headers) as r:
                excerpt = b""
                for chunk in r.iter_raw():
                    excerpt += chunk
                    if len(excerpt) >= read:
                        break
                return Outcome(
                    status_code=r.status_code,
                    error=None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}",
                    duration_ms=took(),
                    excerpt=excerpt[:read].decode("utf-8", "replace"),
                    retry_after=retry_after_seconds(r.headers.get("retry-after"), now),
                )
        except UrlRefused as exc:
            return Outcome(None, f"refused: {exc.message}"[:500], took())
        except httpx2.TimeoutException:
            return Outcome(None, f"timed out after {self.timeout:g} s", took())
        except httpx2.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], took())
        except httpcore2.TimeoutException as exc:
            return Outcome(None, f"timed out: {exc}"[:500], took())
        except (OSError, ValueError, UnicodeError) as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], took())
        finally:
            self._deadline.at = None
