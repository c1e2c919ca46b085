"""``proofdesk kb …`` and ``proofdesk assistant …``: the knowledge base in and out, asking the
assistant, and evaluating it on labelled data."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from proofdesk.cli.common import app, fail, handles_errors, out, settings

if TYPE_CHECKING:
    from proofdesk.assistant.kb import ArticleSpec
    from proofdesk.store.db import Database

kb_app = typer.Typer(help="The knowledge base: import and export.", no_args_is_help=True)
assistant_app = typer.Typer(help="The assistant: ask, evaluate.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(assistant_app, name="assistant")


def _organization(slug: str) -> tuple[Database, str]:
    from sqlalchemy import select

    from proofdesk.app.services import open_database
    from proofdesk.store.models import Organization

    db = open_database(settings())
    with db.reader() as session:
        org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
        if org is None:
            db.dispose()
            raise fail(f"no organization {slug!r}")
        return db, org.id


def _articles(slug: str) -> list[ArticleSpec]:
    from proofdesk.assistant import kb

    db, org_id = _organization(slug)
    try:
        with db.reader() as session:
            return [kb.to_spec(row) for row in kb.articles(session, org_id)]
    finally:
        db.dispose()


@kb_app.command("import")
@handles_errors
def kb_import(
    path: Annotated[Path, typer.Argument(help="A Markdown file, a directory of them, or CSV.")],
    org: Annotated[str, typer.Option(help="The organization's slug.")] = "demo",
) -> None:
    """Import articles (new ones created, changed ones get a new version)."""
    from proofdesk.actions.kb import do_save_article
    from proofdesk.assistant import kb

    if not path.exists():
        raise fail(f"{path} does not exist")
    try:
        specs = kb.read_path(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    db, org_id = _organization(org)
    try:
        with db.writer() as session:
            changed = sum(do_save_article(session, None, org_id, spec) for spec in specs)
    finally:
        db.dispose()
    out.print(f"{len(specs)} articles read, {changed} created or changed")


@kb_app.command("export")
@handles_errors
def kb_export(
    target: Annotated[Path, typer.Argument(help="A directory (Markdown) or a .csv file.")],
    org: Annotated[str, typer.Option(help="The organization's slug.")] = "demo",
) -> None:
    """Export every article as Markdown files (one per article and language) or one CSV."""
    from proofdesk.assistant import kb

    specs = _articles(org)
    try:
        if target.suffix.lower() == ".csv":
            target.write_text(kb.to_csv(specs), encoding="utf-8")
        else:
            target.mkdir(parents=True, exist_ok=True)
            for spec in specs:
                (target / f"{spec.slug}.{spec.locale}.md").write_text(kb.to_markdown(spec), "utf-8")
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc}") from None
    out.print(f"{len(specs)} articles written to {target}")


def _labelled(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or {"text", "label"} - set(reader.fieldnames):
                raise fail(f"{path}: a CSV with the columns text,label")
            rows = [(r["text"], r["label"]) for r in reader if r["text"] and r["label"]]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    if not rows:
        raise fail(f"{path} has no labelled rows")
    return rows


def _protocol(split: str, ks: str, splits: int, embeddings: bool, kb_too: bool) -> None:
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from proofdesk.assistant import protocol
    from proofdesk.assistant.embedding import default_embedder
    from proofdesk.assistant.kb import read_path

    root = Path(__file__).resolve().parents[3] / "data"
    if not (root / "assistant" / "open" / "queries.csv").exists():
        raise fail("the protocol runs from a source checkout (data/assistant/open)")
    try:
        chosen_ks = [int(k) for k in ks.split(",") if k.strip()]
    except ValueError:
        raise fail("--ks is a comma-separated list of numbers, e.g. 4,8,12,24") from None
    if not chosen_ks or min(chosen_ks) < 2:
        raise fail("--ks: at least 2 examples per intent")
    articles = read_path(root / "kb") if kb_too else []
    queries = [
        (text, label)
        for text, label, part in protocol.read_labelled(root / "assistant" / "open" / "queries.csv")
        if split == "all" or part == split
    ]
    with threadpool_limits(1):
        results = protocol.run(
            protocol.pool(root / "assistant", read_path(root / "kb")),
            queries,
            articles,
            default_embedder() if embeddings else None,
            ks=chosen_ks,
            splits=splits,
            progress=lambda line: out.print(line, style="dim", highlight=False),
        )
    table = Table(
        *protocol.HEADERS, title=f"protocol: {len(queries)} {split} queries, {splits} splits"
    )
    for scores in results:
        table.add_row(*scores.row())
    out.print(table)


@assistant_app.command("evaluate")
@handles_errors
def evaluate(
    train: Annotated[Path | None, typer.Option(help="CSV text,label to train on.")] = None,
    test: Annotated[Path | None, typer.Option(help="CSV text,label to test on (held out).")] = None,
    threshold: Annotated[float, typer.Option(min=0, max=1)] = 0.45,
    margin: Annotated[float, typer.Option(min=0, max=1)] = 0.15,
    embeddings: Annotated[
        bool, typer.Option(help="Use the sentence encoder beside n-grams (the default).")
    ] = True,
    protocol: Annotated[
        bool, typer.Option(help="Run the open-world protocol (docs/assistant.md) instead.")
    ] = False,
    split: Annotated[str, typer.Option(help="Protocol queries: tune, heldout or all.")] = "tune",
    ks: Annotated[str, typer.Option(help="Protocol: examples per intent.")] = "4,8,12,24",
    splits: Annotated[int, typer.Option(min=1, max=50, help="Protocol: random splits.")] = 5,
    kb: Annotated[
        bool, typer.Option(help="Protocol: train with the starter knowledge base too.")
    ] = True,
) -> None:
    """Train on one labelled file, test on another: accuracy, macro-F1, hand-off rate,
    accuracy of what was answered at the threshold, coverage, out-of-scope hand-offs,
    latency. The label ``out_of_scope`` marks what the assistant should not answer. With
    ``--protocol``: k examples per intent, several random splits, the open query set."""
    from proofdesk.assistant.understanding import Thresholds
    from proofdesk.assistant.understanding import evaluate as run

    if protocol:
        if split not in ("tune", "heldout", "all"):
            raise fail("--split is tune, heldout or all")
        _protocol(split, ks, splits, embeddings, kb)
        return
    if train is None or test is None:
        raise fail("--train and --test (or --protocol)")
    result = run(
        _labelled(train),
        _labelled(test),
        Thresholds(threshold, margin),
        embedder="default" if embeddings else None,
    )
    table = Table("measure", "value", title=f"{result.total} test queries")
    for name, value in (
        ("top-1 intent accuracy", f"{result.accuracy:.1%}"),
        ("macro-F1", f"{result.macro_f1:.3f}"),
        ("hand-off rate", f"{result.handoff_rate:.1%}"),
        ("accuracy of what was answered", f"{result.answered_accuracy:.1%}"),
        ("in-scope queries answered", f"{result.in_scope_answered:.1%}"),
        ("answerable queries answered", f"{result.answerable_answered:.1%}"),
        ("out-of-scope queries handed off", f"{result.out_of_scope_handed_off:.1%}"),
        ("always-human queries handed off", f"{result.always_human_handed_off:.1%}"),
        ("latency p50 / p95", f"{result.p50_ms:.2f} / {result.p95_ms:.2f} ms"),
        ("training time", f"{result.build_seconds:.1f} s"),
    ):
        table.add_row(name, value)
    out.print(table)


@assistant_app.command("ask")
@handles_errors
def ask(
    text: Annotated[str, typer.Argument(help="What a customer writes.")],
    org: Annotated[str, typer.Option(help="The organization's slug.")] = "demo",
    locale: Annotated[str, typer.Option(help="en or zh-CN")] = "",
) -> None:
    """What the assistant would answer (or why it would hand off), from the organization's
    knowledge base."""
    from proofdesk.assistant.conversation import Models
    from proofdesk.assistant.understanding import looks_chinese
    from proofdesk.domain.redaction import redact
    from proofdesk.errors import NotFound

    models = Models.from_settings(settings())
    db, org_id = _organization(org)
    try:
        model = models.of(db, org_id)
    except NotFound:
        raise fail(
            f"the knowledge base of {org!r} is empty: `proofdesk kb import data/kb`"
        ) from None
    finally:
        db.dispose()
    cleaned = redact(text).text
    lang = locale or ("zh-CN" if looks_chinese(cleaned) else "en")
    reply = model.respond(cleaned, lang, models.thresholds)
    out.print(
        f"{reply.kind}: intent {reply.intent} ({reply.confidence:.0%}, margin "
        f"{reply.margin:.0%})" + (f", hand-off: {reply.reason}" if reply.reason else ""),
        highlight=False,
    )
    if reply.article is not None:
        out.print(f"[{reply.article.slug} · {reply.article.locale}] {reply.article.title}")
        out.print(reply.article.body, highlight=False)


@assistant_app.command("train")
@handles_errors
def train(
    org: Annotated[str, typer.Option(help="The organization's slug.")] = "demo",
    examples: Annotated[
        Path | None, typer.Option(help="Also import a CSV text,label of examples.")
    ] = None,
) -> None:
    """Learn from agents' labels: every solved ticket tagged with an intent's name becomes an
    example (and the rows of ``--examples``); the assistant uses them from its next turn."""
    from proofdesk.assistant import training

    rows = _labelled(examples) if examples is not None else []
    db, org_id = _organization(org)
    try:
        with db.writer() as session:
            from_tickets = training.learn_from_tickets(session, org_id)
            imported = training.import_examples(session, org_id, rows)
            total = len(training.examples(session, org_id))
    finally:
        db.dispose()
    out.print(
        f"{from_tickets} examples from solved tickets, {imported} imported; {total} in all",
        highlight=False,
    )
