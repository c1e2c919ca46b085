"""Background workers of ``serve``: a thread that calls :meth:`PeriodicWorker.step` every
``interval`` seconds until stopped. A failure is logged (once per distinct message for the
project's own errors) and the next step tries again."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

import httpx2

from proofdesk.errors import Error

log = logging.getLogger(__name__)


class PeriodicWorker(ABC):
    #: The thread's name, and the prefix of its log lines.
    name = "worker"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The last step's failure, None after a step that succeeded.
        self.last_error: str | None = None

    @abstractmethod
    def step(self) -> object:
        """One round of the worker's work."""

    def start(self) -> None:
        """Start the thread (not when ``interval`` is 0: steps are then run by hand)."""
        if self.interval > 0 and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
                self.last_error = None
            except Error as exc:
                if exc.message != self.last_error:
                    log.warning("%s: %s", self.name, exc.message)
                self.last_error = exc.message
            except Exception as exc:
                log.exception("%s failed; trying again in %.1f s", self.name, self.interval)
                self.last_error = f"{type(exc).__name__}: {exc}"


class HttpWorker(PeriodicWorker):
    """A worker that talks to other servers: one keep-alive HTTP client, opened on first use
    and closed when the worker stops (a test may hand it a client of its own)."""

    def __init__(self, interval: float, timeout: float) -> None:
        super().__init__(interval)
        self.timeout = timeout
        self._client: httpx2.Client | None = None

    def client(self) -> httpx2.Client:
        if self._client is None:
            self._client = httpx2.Client(timeout=self.timeout)
        return self._client

    def use_client(self, client: httpx2.Client) -> None:
        self._client = client

    def stop(self) -> None:
        super().stop()
        if self._client is not None:
            self._client.close()
            self._client = None
