"""Writing the knowledge base: every article saved is a new version with its revision row.

The parsing, import and export formats stay in :mod:`proofdesk.assistant.kb`; only the write
lives here, like every other state change. ``actor`` is ``None`` for an operator's import from
the command line or the demo seed, which no one in the organization performs.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_manager
from proofdesk.assistant.kb import ArticleSpec, to_spec
from proofdesk.canonical import utc_now
from proofdesk.store.models import KbArticle, KbRevision


def do_save_article(
    session: Session, actor: Actor | None, organization_id: str, spec: ArticleSpec
) -> bool:
    """Create or update (by slug and locale) as a new version; False when nothing changed."""
    if actor is not None:
        require_manager(actor)
    spec.check()
    row = session.scalars(
        select(KbArticle).where(
            KbArticle.organization_id == organization_id,
            KbArticle.slug == spec.slug,
            KbArticle.locale == spec.locale,
        )
    ).first()
    content = asdict(spec)
    if row is not None and content == asdict(to_spec(row)):
        return False
    now = utc_now()
    if row is None:
        row = KbArticle(
            organization_id=organization_id, slug=spec.slug, locale=spec.locale, version=0
        )
        session.add(row)
    row.title, row.body, row.intent, row.audience = (
        spec.title,
        spec.body,
        spec.intent,
        spec.audience,
    )
    row.questions = json.dumps(spec.questions, ensure_ascii=False)
    row.tags = json.dumps(spec.tags, ensure_ascii=False)
    row.version += 1
    row.updated_at = now
    row.updated_by = actor.user_id if actor else None
    session.flush()
    session.add(
        KbRevision(
            article_id=row.id,
            version=row.version,
            content=json.dumps(content, ensure_ascii=False, sort_keys=True),
            author=row.updated_by,
            created_at=now,
        )
    )
    return True
