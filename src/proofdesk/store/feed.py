"""The commits' change feed: the live pages and long polls that wait for a ticket, an
organization's queue or a ticket's presence to change are woken when it changes, instead of
each reading the database every second.

A write transaction's events are published when it commits (``Database.writer``; a rolled-back
one publishes nothing), so a viewer in this process hears of a change at once. What other
processes commit (``proofdesk worker``, other ``serve`` processes, other hosts) reaches the
feed through its :class:`Follower`: one read of the log's new events a second per process —
while anyone waits — however many viewers there are. Presence (who else has a ticket open)
is not an event; its writer wakes the ticket's presence key itself.

Waking is a hint, never a value: a woken viewer reads what it shows through its own access
check, so a wake-up can never reveal what a viewer may not see. A spurious wake (a savepoint
that was rolled back inside a committed transaction) costs one read.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Where a write session keeps the changes it will publish once committed.
CHANGES = "changes"


@dataclass(frozen=True)
class Change:
    organization_id: str
    ticket_id: str
    seq: int


def ticket_key(ticket_id: str) -> str:
    return f"ticket:{ticket_id}"


def queue_key(organization_id: str) -> str:
    return f"org:{organization_id}"


def presence_key(ticket_id: str) -> str:
    return f"presence:{ticket_id}"


class Waiter:
    """One viewer's wake-up, on the event loop it was made on; woken from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def wake(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """True if woken within ``timeout`` seconds (and ready for the next wake)."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True


class ChangeFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[Waiter]] = {}

    @property
    def waiting(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._waiters.values())

    @contextmanager
    def watching(self, *keys: str) -> Iterator[Waiter]:
        """A waiter woken by every change of ``keys`` while the block runs (in a coroutine)."""
        waiter = Waiter(asyncio.get_running_loop())
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(waiter)
        try:
            yield waiter
        finally:
            with self._lock:
                for key in keys:
                    found = self._waiters.get(key)
                    if found is not None:
                        found.discard(waiter)
                        if not found:
                            del self._waiters[key]

    def publish(self, changes: Iterable[Change]) -> None:
        """Wake whoever waits for the tickets and queues of ``changes`` (any thread)."""
        keys: set[str] = set()
        for change in changes:
            keys.add(ticket_key(change.ticket_id))
            keys.add(queue_key(change.organization_id))
        self.wake(*keys)

    def wake(self, *keys: str) -> None:
        with self._lock:
            waiters = {w for key in keys for w in self._waiters.get(key, ())}
        for waiter in waiters:
            waiter.wake()


class Follower:
    """Publishes what other processes commit: every ``interval`` seconds, while someone waits,
    the events after the last one it saw (from ``read_after``), in one read; otherwise it
    reads only the log's head."""

    def __init__(
        self,
        feed: ChangeFeed,
        read_head: Callable[[], int],
        read_after: Callable[[int], list[Change]],
        interval: float = 1.0,
    ) -> None:
        self.feed, self.interval = feed, interval
        self._read_head, self._read_after = read_head, read_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.position: int | None = None

    def start(self) -> None:
        """Follow from the log's head as it is now: whatever commits after this is seen."""
        try:
            self.position = self._read_head()
        except Exception:  # the first step will try again
            log.warning("the change feed could not read the log's head", exc_info=True)
        self._thread = threading.Thread(target=self._run, name="change-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def step(self) -> int:
        """One look at the log; returns how many events it published. While nobody waits it
        only keeps up with the head (one row), so that whatever is committed after a viewer
        starts waiting is published to it, however soon after the last look that was."""
        if self.position is None:
            self.position = self._read_head()
            return 0
        if not self.feed.waiting:
            head = self._read_head()
            if not self.feed.waiting:  # still nobody: whoever comes now reads after this head
                self.position = head
                return 0
        changes = self._read_after(self.position)
        if changes:
            self.position = changes[-1].seq
            self.feed.publish(changes)
        return len(changes)

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.interval):
            try:
                self.step()
                failing = False
            except Exception as exc:  # the database away for a moment: try again next time
                if not failing:  # once an outage, not once a second
                    log.warning(
                        "the change feed cannot read the log (%s); meanwhile live pages "
                        "hear only of this process's commits",
                        type(exc).__name__,
                    )
                failing = True
