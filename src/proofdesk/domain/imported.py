"""Another help desk's tickets as the importer sees them, whatever desk they came from.

Each source reader (``moving.sources``) turns its export's objects into these plain records;
:mod:`proofdesk.actions.imports` writes them as imported events. The maps from each source's
statuses and priorities onto ours are here, as data, so ``docs/import.md`` and the code say
the same thing (a test compares them).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from proofdesk.domain.tickets import TRANSITIONS, Priority, Status

SYSTEMS = ("zendesk", "freshdesk", "zammad", "csv")


@dataclass(frozen=True, slots=True)
class SourcePerson:
    """A requester or an agent; ``email`` is None for a deleted or anonymous user."""

    source_id: str
    name: str
    email: str | None = None
    staff: bool = False
    organization: str | None = None
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class SourceAttachment:
    source_id: str
    filename: str
    content_type: str
    url: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class SourceComment:
    source_id: str
    author: SourcePerson
    body: str
    public: bool
    created_at: str  # RFC 3339 UTC
    attachments: tuple[SourceAttachment, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceTicket:
    source_id: str
    subject: str
    status: Status
    priority: Priority
    requester: SourcePerson
    created_at: str
    updated_at: str
    comments: tuple[SourceComment, ...]
    assignee: SourcePerson | None = None
    tags: tuple[str, ...] = ()
    #: The source's custom fields, kept as they were (name → value).
    fields: dict[str, Any] = field(default_factory=dict)
    #: The source id of the ticket this one was merged into, if it was.
    merged_into: str | None = None
    #: What could not be mapped, said once per thing (the importer's report lists them).
    notes: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """SHA-256 of everything imported from the ticket: equal means nothing changed."""
        data = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(data.encode()).hexdigest()


#: Each source's statuses onto ours; a status not listed is reported and imported as open.
STATUS_MAPS: dict[str, dict[str, Status]] = {
    "zendesk": {
        "new": Status.NEW,
        "open": Status.OPEN,
        "pending": Status.PENDING,
        "hold": Status.ON_HOLD,
        "solved": Status.SOLVED,
        "closed": Status.CLOSED,
    },
    # Freshdesk's numbers (API v2): 6 and 7 are the usual "waiting on customer / on third party".
    "freshdesk": {
        "2": Status.OPEN,
        "3": Status.PENDING,
        "4": Status.SOLVED,
        "5": Status.CLOSED,
        "6": Status.PENDING,
        "7": Status.ON_HOLD,
    },
    "zammad": {
        "new": Status.NEW,
        "open": Status.OPEN,
        "pending reminder": Status.PENDING,
        "pending close": Status.SOLVED,
        "closed": Status.CLOSED,
        "merged": Status.CLOSED,
    },
    "csv": {s.value: s for s in Status},
}

#: Each source's priorities onto ours; none or unknown is normal (reported when unknown).
PRIORITY_MAPS: dict[str, dict[str, Priority]] = {
    "zendesk": {p.value: p for p in Priority},
    "freshdesk": {
        "1": Priority.LOW,
        "2": Priority.NORMAL,
        "3": Priority.HIGH,
        "4": Priority.URGENT,
    },
    "zammad": {"1 low": Priority.LOW, "2 normal": Priority.NORMAL, "3 high": Priority.HIGH},
    "csv": {p.value: p for p in Priority},
}


def map_status(system: str, value: Any) -> tuple[Status, str | None]:
    """Our status for a source's, and a note when it had to be guessed."""
    found = STATUS_MAPS[system].get(str(value).strip().lower())
    if found is None:
        return Status.OPEN, f"status {value!r} is not mapped: imported as open"
    return found, None


def map_priority(system: str, value: Any) -> tuple[Priority, str | None]:
    if value is None or value == "":
        return Priority.NORMAL, None
    found = PRIORITY_MAPS[system].get(str(value).strip().lower())
    if found is None:
        return Priority.NORMAL, f"priority {value!r} is not mapped: imported as normal"
    return found, None


def status_path(start: Status, target: Status) -> list[Status]:
    """The shortest walk of the transition table from ``start`` to ``target`` (without
    ``start``): an imported ticket reaches its source's status through allowed steps."""
    if start is target:
        return []
    seen = {start: [start]}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for nxt in sorted(TRANSITIONS[current], key=lambda s: s.value):
            if nxt not in seen:
                seen[nxt] = [*seen[current], nxt]
                if nxt is target:
                    return seen[nxt][1:]
                queue.append(nxt)
    return []  # unreachable (closed is terminal): the caller reports it
