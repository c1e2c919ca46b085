"""The change feed: a waiter is woken by the changes of its keys only, from any thread, and
the follower reads the log's events only while somebody waits (its head otherwise)."""

from __future__ import annotations

import asyncio
import threading

from proofdesk.store.feed import (
    Change,
    ChangeFeed,
    Follower,
    presence_key,
    queue_key,
    ticket_key,
)


def test_a_waiter_hears_its_own_keys_only_from_any_thread() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool, int]:
        feed = ChangeFeed()
        with (
            feed.watching(ticket_key("a")) as on_a,
            feed.watching(queue_key("org2")) as on_queue,
            feed.watching(presence_key("a")) as on_presence,
        ):
            assert feed.waiting == 3
            threading.Thread(target=feed.publish, args=([Change("org1", "b", 7)],)).start()
            quiet = not await on_a.wait(0.3)
            threading.Thread(target=feed.publish, args=([Change("org2", "a", 8)],)).start()
            woke_a = await on_a.wait(5)
            woke_queue = await on_queue.wait(5)
            presence_quiet = not await on_presence.wait(0.1)
        return quiet, woke_a, woke_queue, presence_quiet, feed.waiting

    assert asyncio.run(scenario()) == (True, True, True, True, 0)


def test_a_wake_is_kept_until_it_is_waited_for() -> None:
    async def scenario() -> tuple[bool, bool]:
        feed = ChangeFeed()
        with feed.watching(presence_key("t")) as waiter:
            feed.wake(presence_key("t"))  # before anyone awaits: not lost
            first = await waiter.wait(5)
            second = await waiter.wait(0.1)  # and used once
        return first, second

    assert asyncio.run(scenario()) == (True, False)


def test_the_follower_reads_only_while_someone_waits() -> None:
    feed = ChangeFeed()
    reads: list[str] = []
    log = [Change("o", "t1", 5), Change("o", "t2", 6)]

    def head() -> int:
        reads.append("head")
        return 4

    def after(seq: int) -> list[Change]:
        reads.append(f"after {seq}")
        return [c for c in log if c.seq > seq]

    follower = Follower(feed, head, after)
    assert follower.step() == 0 and reads == ["head"]  # nobody waits: the head alone

    async def scenario() -> bool:
        with feed.watching(ticket_key("t2")) as waiter:
            # Events committed after the last look but before this one reach the waiter.
            assert follower.step() == 2
            woke = await waiter.wait(5)
            assert follower.step() == 0  # nothing new since
            return woke

    assert asyncio.run(scenario())
    assert reads == ["head", "after 4", "after 6"]
    assert follower.step() == 0 and reads[-1] == "head"
