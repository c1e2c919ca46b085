"""Other help desks' exports, made up for these tests: a small deterministic generator of
tickets written out in the documented shapes of Zendesk, Freshdesk, Zammad and our CSV.

No customer data: names, addresses and texts are drawn from the lists below. The tickets have
English and Chinese comments, public replies and internal notes, attachments and inline
images, merged tickets, deleted users, and one pasted private key per fifty tickets.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from proofdesk.moving.sources import csvfile

#: A private key as people paste them (a well-known test key, holding nothing).
PASTED_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
#: A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f6f0000000049454e44ae426082"
)
EN = [
    "My withdrawal has been pending for two hours.",
    "The deposit does not show in my wallet.",
    "Please check the transaction status for me.",
    "We have escalated this to the chain team.",
    "Thanks, it works now.",
]
ZH = [
    "我的提现已经等了两个小时。",
    "充值没有到账。",
    "请帮我查一下交易状态。",
    "已经转给链上团队处理。",
]
NAMES = ["Alex", "Bao", "Chen Li", "Dana", "Eun", "Farah", "Gao", "Hana", "Ivo", "Jun"]


@dataclass
class Person:
    id: int
    name: str
    email: str | None
    staff: bool
    locale: str = "en"


@dataclass
class File:
    id: int
    name: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class Comment:
    id: int
    author: Person
    body: str
    public: bool
    at: datetime
    files: list[File] = field(default_factory=list)


@dataclass
class Ticket:
    id: int
    subject: str
    status: str  # one of new open pending hold solved closed (Zendesk's words)
    priority: str
    requester: Person
    assignee: Person | None
    created: datetime
    updated: datetime
    comments: list[Comment]
    tags: list[str]
    merged_into: int | None = None


@dataclass
class Desk:
    people: list[Person]
    tickets: list[Ticket]

    def changed(self, ids: list[int], at: datetime) -> Desk:
        """The same desk after the tickets ``ids`` each got a new public reply (and a tag)."""
        tickets = []
        for t in self.tickets:
            if t.id in ids:
                extra = Comment(t.id * 100 + 99, t.requester, "Any news? 有进展吗？", True, at)
                t = replace(
                    t, comments=[*t.comments, extra], updated=at, tags=[*t.tags, "followup"]
                )
            tickets.append(t)
        return Desk(self.people, tickets)


STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]


def generate(count: int, seed: int = 7, start: datetime | None = None) -> Desk:
    rng = random.Random(seed)
    agents = [Person(i, f"Agent {NAMES[i]}", f"agent{i}@desk.example", True) for i in range(1, 4)]
    customers = [
        Person(
            100 + i,
            f"{NAMES[i % len(NAMES)]} {i}",
            f"customer{i}@mail.example",
            False,
            "zh-CN" if i % 3 == 0 else "en",
        )
        for i in range(max(count // 3, 2))
    ]
    deleted = [Person(900, "deleted user", None, False), Person(901, "deleted user", None, True)]
    start = start or datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    tickets: list[Ticket] = []
    file_id = 5000
    for n in range(1, count + 1):
        requester = deleted[0] if n % 40 == 0 else rng.choice(customers)
        assignee = deleted[1] if n % 45 == 0 else rng.choice(agents)
        created = start + timedelta(hours=n * 3)
        texts = ZH if requester.locale == "zh-CN" else EN
        comments = []
        at = created
        for c in range(rng.randint(1, 4)):
            staff = c % 2 == 1
            author = assignee if staff else requester
            body = rng.choice(texts)
            if n % 50 == 0 and c == 0:
                body += f" my private key is {PASTED_KEY}"
            files = []
            if n % 7 == 0 and c == 0:
                file_id += 1
                files.append(File(file_id, f"screen-{n}.png", "image/png", PNG, inline=n % 14 == 0))
            if n % 11 == 0 and c == 0:
                file_id += 1
                files.append(File(file_id, f"log-{n}.txt", "text/plain", f"log {n}\n".encode()))
            comments.append(
                Comment(
                    n * 100 + c, author, body, public=not (staff and c == 3), at=at, files=files
                )
            )
            at += timedelta(minutes=rng.randint(5, 300))
        status = rng.choice(STATUSES)
        tags = sorted({rng.choice(["withdrawal", "deposit", "kyc", "提现"]), f"batch{n % 5}"})
        merged_into = None
        if n % 30 == 0 and n > 1:
            # Merged into the ticket before it when that one is the same requester's.
            prior = tickets[-1]
            prior.requester = requester
            merged_into, status = prior.id, "closed"
            tags.append("closed_by_merge")
        tickets.append(
            Ticket(
                n,
                f"Ticket {n}: " + texts[0][:30],
                status,
                rng.choice(["low", "normal", "high", "urgent"]),
                requester,
                assignee,
                created,
                at,
                comments,
                tags,
                merged_into,
            )
        )
    # The merged-into ticket must be the same requester's from its first comment on.
    for t in tickets:
        for c in t.comments:
            if not c.author.staff and c.author is not t.requester:
                c.author = t.requester
    return Desk([*agents, *customers, deleted[1]], tickets)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def files_of(desk: Desk) -> dict[int, File]:
    return {f.id: f for t in desk.tickets for c in t.comments for f in c.files}


def write_files(desk: Desk, folder: Path) -> None:
    """The attachments next to the export, as ``files/<id>-<name>``."""
    (folder / "files").mkdir(parents=True, exist_ok=True)
    for f in files_of(desk).values():
        (folder / "files" / f"{f.id}-{f.name}").write_bytes(f.data)


def file_url(f: File, base: str | None) -> str:
    return f"{base}/files/{f.id}-{f.name}" if base else f"files/{f.id}-{f.name}"


# -- Zendesk -----------------------------------------------------------------------------------


def zendesk_user(p: Person) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "email": p.email,
        "role": "agent" if p.staff else "end-user",
        "locale": "zh-cn" if p.locale == "zh-CN" else "en-us",
        "active": p.email is not None,
    }


def zendesk_ticket(t: Ticket, base: str | None = None) -> dict[str, Any]:
    comments = []
    for c in t.comments:
        comment: dict[str, Any] = {
            "id": c.id,
            "type": "Comment",
            "author_id": c.author.id,
            "body": c.body,
            "public": c.public,
            "created_at": _time(c.at),
            "attachments": [
                {
                    "id": f.id,
                    "file_name": f.name,
                    "content_url": file_url(f, base),
                    "content_type": f.content_type,
                    "size": len(f.data),
                    "inline": f.inline,
                }
                for f in c.files
            ],
        }
        comments.append(comment)
    if t.merged_into is not None:
        comments.append(
            {
                "id": t.id * 100 + 98,
                "type": "Comment",
                "author_id": t.assignee.id if t.assignee else 1,
                "body": f"Request #{t.id} was closed and merged into request #{t.merged_into}.",
                "public": False,
                "created_at": _time(t.updated),
                "attachments": [],
                "via": {
                    "channel": "web",
                    "source": {"rel": "merge", "to": {"ticket_id": t.merged_into}, "from": {}},
                },
            }
        )
    return {
        "id": t.id,
        "subject": t.subject,
        "description": t.comments[0].body,
        "status": t.status,
        "priority": t.priority,
        "requester_id": t.requester.id,
        "assignee_id": t.assignee.id if t.assignee else None,
        "tags": t.tags,
        "custom_fields": [{"id": 360001, "value": f"order-{t.id}"}, {"id": 360002, "value": None}],
        "created_at": _time(t.created),
        "updated_at": _time(t.updated),
        "via": {"channel": "email"},
        "comments": comments,
    }


def write_zendesk(desk: Desk, path: Path) -> None:
    """JSON lines: the users first, then one ticket (with its comments) a line."""
    with path.open("w", encoding="utf-8") as out:
        for p in desk.people:
            out.write(json.dumps({"user": zendesk_user(p)}, ensure_ascii=False) + "\n")
        for t in desk.tickets:
            out.write(json.dumps(zendesk_ticket(t), ensure_ascii=False) + "\n")


# -- Freshdesk ---------------------------------------------------------------------------------

FRESHDESK_STATUS = {"new": 2, "open": 2, "pending": 3, "hold": 7, "solved": 4, "closed": 5}
FRESHDESK_PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}


def _fd_attachments(files: list[File], base: str | None) -> list[dict[str, Any]]:
    return [
        {
            "id": f.id,
            "name": f.name,
            "content_type": f.content_type,
            "size": len(f.data),
            "attachment_url": file_url(f, base),
        }
        for f in files
    ]


def freshdesk_ticket(t: Ticket, base: str | None = None) -> dict[str, Any]:
    first, rest = t.comments[0], t.comments[1:]
    return {
        "id": t.id,
        "subject": t.subject,
        "description": f"<div>{first.body}</div>",
        "description_text": first.body,
        "status": FRESHDESK_STATUS[t.status],
        "priority": FRESHDESK_PRIORITY[t.priority],
        "requester_id": t.requester.id,
        "responder_id": t.assignee.id if t.assignee else None,
        "tags": t.tags,
        "custom_fields": {"cf_order": f"order-{t.id}", "cf_empty": None},
        "created_at": _time(t.created),
        "updated_at": _time(t.updated),
        "attachments": _fd_attachments(first.files, base),
        "conversations": [
            {
                "id": c.id,
                "body": f"<div>{c.body}</div>",
                "body_text": c.body,
                "incoming": not c.author.staff,
                "private": not c.public,
                "user_id": c.author.id,
                "created_at": _time(c.at),
                "attachments": _fd_attachments(c.files, base),
            }
            for c in rest
        ],
    }


def write_freshdesk(desk: Desk, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for p in desk.people:
            if p.staff:
                agent = {"id": p.id, "contact": {"name": p.name, "email": p.email}}
                out.write(json.dumps({"agent": agent}) + "\n")
            else:
                contact = {"id": p.id, "name": p.name, "email": p.email, "language": p.locale}
                out.write(json.dumps({"contact": contact}) + "\n")
        for t in desk.tickets:
            out.write(json.dumps(freshdesk_ticket(t), ensure_ascii=False) + "\n")


# -- Zammad ------------------------------------------------------------------------------------

ZAMMAD_STATE = {
    "new": "new",
    "open": "open",
    "pending": "pending reminder",
    "hold": "pending reminder",
    "solved": "pending close",
    "closed": "closed",
}
ZAMMAD_PRIORITY = {"low": "1 low", "normal": "2 normal", "high": "3 high", "urgent": "3 high"}


def zammad_user(p: Person) -> dict[str, Any]:
    first, _, last = p.name.partition(" ")
    return {
        "id": p.id,
        "firstname": first,
        "lastname": last,
        "email": p.email or "",
        "roles": ["Agent"] if p.staff else ["Customer"],
        "preferences": {"locale": "zh-cn" if p.locale == "zh-CN" else "en-us"},
    }


def zammad_ticket(t: Ticket, base: str | None = None) -> dict[str, Any]:
    return {
        "id": t.id,
        "number": str(31000 + t.id),
        "title": t.subject,
        "state": "merged" if t.merged_into else ZAMMAD_STATE[t.status],
        "priority": ZAMMAD_PRIORITY[t.priority],
        "customer_id": t.requester.id,
        "owner_id": t.assignee.id if t.assignee else 1,
        "merged_into_id": t.merged_into,
        "tags": t.tags,
        "created_at": _time(t.created),
        "updated_at": _time(t.updated),
        "articles": [
            {
                "id": c.id,
                "ticket_id": t.id,
                "sender": "Agent" if c.author.staff else "Customer",
                "from": c.author.email or "",
                "body": f"<p>{c.body}</p>",
                "content_type": "text/html",
                "internal": not c.public,
                "created_by_id": c.author.id,
                "created_at": _time(c.at),
                "attachments": [
                    {
                        "id": f.id,
                        "filename": f.name,
                        "size": str(len(f.data)),
                        "preferences": {
                            "Content-Type": f.content_type,
                            **({"Content-ID": f"{f.id}@desk"} if f.inline else {}),
                        },
                        "url": file_url(f, base),
                    }
                    for f in c.files
                ],
            }
            for c in t.comments
        ],
    }


def write_zammad(desk: Desk, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for p in desk.people:
            out.write(json.dumps({"user": zammad_user(p)}) + "\n")
        for t in desk.tickets:
            out.write(json.dumps(zammad_ticket(t), ensure_ascii=False) + "\n")


# -- CSV ---------------------------------------------------------------------------------------

CSV_STATUS = {**{s: s for s in STATUSES}, "hold": "on_hold"}


def write_csv(desk: Desk, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(csvfile.COLUMNS)
        for t in desk.tickets:
            if t.requester.email is None:
                continue  # a CSV names people by address only
            for c in t.comments:
                writer.writerow(
                    [
                        t.id,
                        t.subject,
                        CSV_STATUS[t.status],
                        t.priority,
                        " ".join(t.tags),
                        _time(t.created),
                        _time(t.updated),
                        t.requester.email,
                        t.requester.name,
                        c.id,
                        c.author.email or "",
                        c.author.name,
                        "yes" if c.author.staff else "no",
                        "yes" if c.public else "no",
                        _time(c.at),
                        c.body,
                    ]
                )


WRITERS = {
    "zendesk": write_zendesk,
    "freshdesk": write_freshdesk,
    "zammad": write_zammad,
    "csv": write_csv,
}


def export(desk: Desk, system: str, folder: Path) -> Path:
    """Write ``desk`` as ``system``'s export (with its attachments) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_files(desk, folder)
    path = folder / ("tickets.csv" if system == "csv" else "tickets.jsonl")
    WRITERS[system](desk, path)
    return path
