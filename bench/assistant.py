"""The assistant on one core: building the model over a 5,000-entry knowledge base, latency
per conversation decision (classify, judge, pick the article), and peak memory; plus the
shipped evaluation set's scores. Prints a table and rewrites its section of
``docs/benchmarks.md``.

The 5,000 entries are the shipped bilingual starter articles (data/kb) and variants of them
under further intents (``--intents``, default 60: a large help centre's FAQ has tens of
intents, not one per article), each with its own title and questions, so the classifier and
the search work at that size.

    .venv/bin/python bench/assistant.py [--entries 5000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model
from ledger import markdown_table, replace_section, run_header
from proofdesk.assistant.kb import ArticleSpec, read_path
from proofdesk.assistant.understanding import Model, Thresholds, evaluate

ROOT = Path(__file__).resolve().parent.parent
TOPICS = [
    "card",
    "loan",
    "margin",
    "futures",
    "options",
    "airdrop",
    "launchpad",
    "savings",
    "convert",
    "p2p",
    "referral",
    "vip",
    "tax",
    "statement",
    "subaccount",
    "copy trading",
    "grid bot",
    "dual investment",
    "pay",
    "gift card",
]
ACTIONS = [
    "limit",
    "fee",
    "error",
    "delay",
    "cancel",
    "history",
    "setting",
    "rule",
    "reward",
    "risk",
    "证明",
    "额度",
    "失败",
]


def knowledge_base(entries: int, intents_wanted: int, seed: int = 5) -> list[ArticleSpec]:
    rng = random.Random(seed)
    base = read_path(ROOT / "data" / "kb")
    out = list(base)
    intents = [f"{t.replace(' ', '_')}_{a}" for t in TOPICS for a in ACTIONS][:intents_wanted]
    while len(out) < entries:
        n = len(out)
        intent = intents[n % len(intents)]
        topic, action = intent.rsplit("_", 1)
        words = topic.replace("_", " ")
        template = rng.choice(base)
        out.append(
            replace(
                template,
                slug=f"{template.slug}-{n}",
                intent=intent,
                title=f"{words} {action} #{n}",
                questions=[
                    f"{words} {action} question {n}",
                    f"how does {words} {action} work {n % 17}",
                    f"{words}{action}怎么办 {n % 13}",
                ],
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--intents", type=int, default=60, help="extra intents, at most 260")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    if args.entries < 50 or args.queries < 10:
        parser.error("at least 50 entries and 10 queries")
    with threadpool_limits(1):
        articles = knowledge_base(args.entries, args.intents)
        started = time.perf_counter()
        model = Model.from_articles(articles)
        build = time.perf_counter() - started
        with (ROOT / "data" / "assistant" / "test.csv").open(encoding="utf-8") as handle:
            queries = [row["text"] for row in csv.DictReader(handle)]
        timings = []
        for i in range(args.queries):
            text = queries[i % len(queries)]
            t0 = time.perf_counter()
            model.respond(text, "zh-CN")
            timings.append((time.perf_counter() - t0) * 1000)
        with (ROOT / "data" / "assistant" / "train.csv").open(encoding="utf-8") as handle:
            train = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
        with (ROOT / "data" / "assistant" / "test.csv").open(encoding="utf-8") as handle:
            test = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
        scores = evaluate(train, test, Thresholds())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        [
            "knowledge base",
            f"{len(articles):,} entries, {len({a.intent for a in articles})} intents",
        ],
        ["model build (TF-IDF + classifier + search index)", f"{build:.1f} s"],
        [
            "decision per turn, p50 / p95",
            f"{np.percentile(timings, 50):.2f} / {np.percentile(timings, 95):.2f} ms",
        ],
        ["peak memory (process)", f"{peak_mb:,.0f} MB"],
        ["shipped test set: queries", f"{scores.total}"],
        ["top-1 intent accuracy / macro-F1", f"{scores.accuracy:.1%} / {scores.macro_f1:.3f}"],
        ["accuracy of what was answered", f"{scores.answered_accuracy:.1%}"],
        [
            "in-scope answered / out-of-scope handed off",
            f"{scores.in_scope_answered:.1%} / {scores.out_of_scope_handed_off:.1%}",
        ],
    ]
    headers = ["measure (one core)", "value"]
    table = Table(*headers, title="The assistant")
    for row in rows:
        table.add_row(*row)
    Console(width=140).print(table)
    if not args.no_write:
        start, end = "<!-- assistant:start -->", "<!-- assistant:end -->"
        block = "\n".join(
            [
                start,
                *run_header("assistant.py", argv or sys.argv[1:]),
                "",
                f"- machine: {cpu_model()}; one process, one BLAS thread; the test set is "
                "data/assistant/test.csv, trained on data/assistant/train.csv only",
                "",
                *markdown_table(headers, rows),
                "",
                end,
            ]
        )
        replace_section(start, end, "The assistant (`bench/assistant.py`)", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
