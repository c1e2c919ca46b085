"""The knowledge base: articles and FAQ entries in zh-CN or en, each with the ways customers
ask it, an intent and an audience; versioned; imported and exported as Markdown with YAML front
matter (one file per article and language) or as CSV.

A Markdown file::

    ---
    slug: withdrawal-pending
    locale: zh-CN
    title: 提币一直在处理中
    intent: withdrawal_pending
    tags: [withdrawal]
    audience: public          # or agents: never shown to customers
    questions: [提币还在处理中, 提现卡住了]
    ---
    The answer, in Markdown.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.errors import InvalidInput
from proofdesk.store.models import KbArticle

LOCALES = ("en", "zh-CN")
AUDIENCES = ("public", "agents")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_INTENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CSV_FIELDS = ("slug", "locale", "title", "intent", "audience", "tags", "questions", "body")


@dataclass
class ArticleSpec:
    slug: str
    locale: str
    title: str
    body: str
    intent: str
    audience: str = "public"
    questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def check(self, where: str = "") -> ArticleSpec:
        at = f"{where}: " if where else ""
        if not isinstance(self.slug, str) or not _SLUG.match(self.slug):
            raise InvalidInput(f"{at}slug must be lower-case letters, digits and -", field="slug")
        if self.locale not in LOCALES:
            raise InvalidInput(f"{at}locale must be one of {LOCALES}", field="locale")
        if self.audience not in AUDIENCES:
            raise InvalidInput(f"{at}audience must be one of {AUDIENCES}", field="audience")
        if not isinstance(self.intent, str) or not _INTENT.match(self.intent):
            raise InvalidInput(f"{at}intent must be snake_case", field="intent")
        for name, limit in (("title", 300), ("body", 50_000)):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise InvalidInput(f"{at}{name} must be 1-{limit} characters", field=name)
        for name in ("questions", "tags"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(
                isinstance(v, str) and 0 < len(v.strip()) <= 300 for v in value
            ):
                raise InvalidInput(f"{at}{name} must be a list of short texts", field=name)
            if len(value) > 100:
                raise InvalidInput(f"{at}at most 100 {name}", field=name)
        return self


def to_spec(row: KbArticle) -> ArticleSpec:
    return ArticleSpec(
        slug=row.slug,
        locale=row.locale,
        title=row.title,
        body=row.body,
        intent=row.intent,
        audience=row.audience,
        questions=list(json.loads(row.questions)),
        tags=list(json.loads(row.tags)),
    )


def articles(session: Session, organization_id: str) -> list[KbArticle]:
    return list(
        session.scalars(
            select(KbArticle)
            .where(KbArticle.organization_id == organization_id)
            .order_by(KbArticle.slug, KbArticle.locale)
        )
    )


# -- Markdown and CSV ------------------------------------------------------------------------


def parse_markdown(text: str, where: str = "") -> ArticleSpec:
    if not text.startswith("---\n"):
        raise InvalidInput(f"{where}: a KB file starts with a --- front matter block")
    try:
        front, body = text[4:].split("\n---\n", 1)
        meta = yaml.safe_load(front)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{where}: the front matter is not YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise InvalidInput(f"{where}: the front matter is a mapping")
    unknown = set(meta) - {"slug", "locale", "title", "intent", "audience", "tags", "questions"}
    if unknown:
        raise InvalidInput(f"{where}: unknown front matter fields {sorted(unknown)}")
    return ArticleSpec(
        slug=meta.get("slug", ""),
        locale=meta.get("locale", ""),
        title=meta.get("title", ""),
        body=body.strip(),
        intent=meta.get("intent", ""),
        audience=meta.get("audience", "public"),
        questions=meta.get("questions") or [],
        tags=meta.get("tags") or [],
    ).check(where)


def to_markdown(spec: ArticleSpec) -> str:
    meta = {
        "slug": spec.slug,
        "locale": spec.locale,
        "title": spec.title,
        "intent": spec.intent,
        "tags": spec.tags,
        "audience": spec.audience,
        "questions": spec.questions,
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{spec.body.strip()}\n"


def read_path(path: Path) -> list[ArticleSpec]:
    """Every article in a Markdown file, a directory of them, or a CSV file."""
    if path.is_dir():
        return [parse_markdown(p.read_text("utf-8"), str(p)) for p in sorted(path.glob("*.md"))]
    text = path.read_text("utf-8-sig")
    if path.suffix.lower() == ".csv":
        return parse_csv(text, str(path))
    return [parse_markdown(text, str(path))]


def parse_csv(text: str, where: str = "") -> list[ArticleSpec]:
    """Columns ``slug,locale,title,intent,audience,tags,questions,body``; tags and questions
    separated by ``|``."""
    try:
        reader = csv.DictReader(io.StringIO(text))
        missing = set(CSV_FIELDS) - set(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{where}: not CSV: {exc}") from None
    if missing:
        raise InvalidInput(f"{where}: missing CSV columns {sorted(missing)}")
    out = []
    for n, row in enumerate(rows, start=2):
        if None in row or any(row[k] is None for k in CSV_FIELDS):
            raise InvalidInput(f"{where}:{n}: the row does not have the header's columns")
        out.append(
            ArticleSpec(
                slug=row["slug"],
                locale=row["locale"],
                title=row["title"],
                body=row["body"],
                intent=row["intent"],
                audience=row["audience"] or "public",
                questions=[q.strip() for q in row["questions"].split("|") if q.strip()],
                tags=[t.strip() for t in row["tags"].split("|") if t.strip()],
            ).check(f"{where}:{n}")
        )
    return out


def to_csv(specs: list[ArticleSpec]) -> str:
    """CSV with a byte-order mark, so that spreadsheets read the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for spec in specs:
        row = asdict(spec)
        row["questions"] = "|".join(spec.questions)
        row["tags"] = "|".join(spec.tags)
        writer.writerow({k: row[k] for k in CSV_FIELDS})
    return "\ufeff" + buffer.getvalue()
