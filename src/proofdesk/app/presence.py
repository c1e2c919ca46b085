"""Who has a ticket open in the console, and who is typing a reply — so that two agents do not
answer the same customer at once.

Kept in the database (table ``presence``), so that every server process sees every viewer:
``proofdesk serve --workers N`` and several machines behind one PostgreSQL agree. A viewer's
row is refreshed at most every :data:`REFRESH` seconds by their page's event stream, and
counts for :data:`TTL` seconds; a closed page deletes it. The writes are single-row upserts in
their own short transactions, outside the event log's write lock."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from proofdesk.canonical import utc_now
from proofdesk.store.db import Database
from proofdesk.store.feed import presence_key
from proofdesk.store.models import Presence as Row

#: Seconds after which a viewer or a typist without news is gone.
TTL = 20.0
#: A viewer's row is written again after this many seconds (its stream reads presence every
#: ``web.pages.PRESENCE_SECONDS``). Arriving, typing and leaving wake the ticket's other viewers
#: in this process at once (``store.feed``).
REFRESH = 5.0


class Presence:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        #: When this process last wrote each (ticket, user) row: the throttle.
        self._written: dict[tuple[str, str], float] = {}

    def here(self, ticket_id: str, user_id: str, name: str) -> None:
        key = (ticket_id, user_id)
        now = time.monotonic()
        with self._lock:
            if now - self._written.get(key, -REFRESH) < REFRESH:
                return
            arrived = key not in self._written
            self._written[key] = now
        self._upsert(ticket_id, user_id, name, typing=False)
        if arrived:
            self.db.feed.wake(presence_key(ticket_id))

    def typing(self, ticket_id: str, user_id: str, name: str) -> None:
        with self._lock:
            self._written[(ticket_id, user_id)] = time.monotonic()
        self._upsert(ticket_id, user_id, name, typing=True)
        self.db.feed.wake(presence_key(ticket_id))

    def leave(self, ticket_id: str, user_id: str) -> None:
        with self._lock:
            self._written.pop((ticket_id, user_id), None)
        with self.db.engine.begin() as connection:
            connection.execute(
                delete(Row).where(Row.ticket_id == ticket_id, Row.user_id == user_id)
            )
        self.db.feed.wake(presence_key(ticket_id))

    def others(self, ticket_id: str, user_id: str) -> tuple[tuple[str, bool], ...]:
        """(name, typing) of everyone else on the ticket now, by name."""
        now = utc_now()
        seen = now - timedelta(seconds=TTL)
        with self.db.engine.connect() as connection:
            rows = connection.execute(
                select(Row.name, Row.typed_at).where(
                    Row.ticket_id == ticket_id, Row.user_id != user_id, Row.seen_at > seen
                )
            ).all()
        return tuple(sorted((name, _recent(typed, now)) for name, typed in rows))

    def _upsert(self, ticket_id: str, user_id: str, name: str, *, typing: bool) -> None:
        now = utc_now()
        values = {"ticket_id": ticket_id, "user_id": user_id, "name": name[:200], "seen_at": now}
        changes = {"name": values["name"], "seen_at": now}
        if typing:
            values["typed_at"] = changes["typed_at"] = now
        dialect = self.db.engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(Row).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[Row.ticket_id, Row.user_id], set_=changes
        )
        with self.db.engine.begin() as connection:
            connection.execute(statement)
            # Rows of pages closed without a goodbye (a crashed browser) go after a while.
            connection.execute(delete(Row).where(Row.seen_at < now - timedelta(hours=1)))


def _recent(typed: datetime | None, now: datetime) -> bool:
    if typed is None:
        return False
    if typed.tzinfo is None:  # SQLite returns naive UTC
        typed = typed.replace(tzinfo=now.tzinfo)
    return (now - typed).total_seconds() < TTL / 2
