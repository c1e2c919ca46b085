"""The open world: the always-human rules, the protocol's query set kept apart from what the
model trains on, and out-of-scope questions refused without out-of-scope examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofdesk.assistant import protocol
from proofdesk.assistant.kb import read_path
from proofdesk.assistant.rules import always_human
from proofdesk.assistant.understanding import (
    BACKGROUND,
    OUT_OF_SCOPE,
    Model,
    OpenSet,
    Signals,
    normalize,
)

ROOT = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我已经报警了，警察让我联系你们", "legal_complaint"),
        ("my lawyer will be sending you a letter", "legal_complaint"),
        ("a hacker changed my 2FA and locked me out", "hacked_account"),
        ("账户被hack了", "hacked_account"),
        ("I was scammed by someone pretending to be your staff", "fraud_report"),
        ("遇到杀猪盘，钱转出去了", "fraud_report"),
    ],
)
def test_always_human_rules_catch_the_party_speaking(text: str, intent: str) -> None:
    assert always_human(normalize(text)) == intent


@pytest.mark.parametrize(
    "text",
    ["how can I tell if an email really comes from you", "怎么识别fake网站", "refund policy"],
)
def test_always_human_rules_leave_questions_about_scams_to_the_model(text: str) -> None:
    assert always_human(normalize(text)) is None


def test_protocol_queries_are_never_training_texts() -> None:
    articles = read_path(ROOT / "kb")
    pool = protocol.pool(ROOT / "assistant", articles)
    taught = {t.lower() for texts in pool.values() for t in texts}
    taught |= {t.lower() for a in articles for t in (a.title, *a.questions)}
    taught |= {t.lower() for t in BACKGROUND()}
    queries = protocol.read_labelled(ROOT / "assistant" / "open" / "queries.csv")
    assert len(queries) > 300 and {s for *_, s in queries} == {"tune", "heldout"}
    assert not [t for t, *_ in queries if t.lower() in taught]
    assert OUT_OF_SCOPE not in pool and min(len(v) for v in pool.values()) >= 24


def test_thresholds_are_chosen_for_the_target_precision() -> None:
    right = [(Signals(0.9, 0.8, 0.2), True)] * 90
    wrong = [(Signals(0.5, 0.8, 0.2), False)] * 10
    background = [Signals(0.95, 0.3, 0.6)] * 50
    chosen = OpenSet.choose([*right, *wrong], background, 0.97)
    assert chosen.precision >= 0.97 and chosen.coverage == pytest.approx(0.9)
    assert chosen.admits(Signals(0.9, 0.8, 0.2)) and not chosen.admits(Signals(0.95, 0.3, 0.6))


def test_out_of_scope_questions_are_refused_without_out_of_scope_examples() -> None:
    """Trained on the starter knowledge base alone (no out_of_scope class), the model hands
    off everyday questions and still answers its own."""
    model = Model.from_articles(read_path(ROOT / "kb"), embedder=None)
    assert model.open_set is not None and OUT_OF_SCOPE not in model.intents
    for text in ["红烧肉怎么做好吃", "how do I sum a column in Excel", "tell me a joke please"]:
        assert model.judge(text)[1] in ("out_of_scope", "low_confidence"), text
    assert model.judge("my withdrawal is still pending")[1] is None


def test_the_protocol_runs_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from proofdesk.cli.main import app

    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "no.env")}
    runner = CliRunner()
    args = ["assistant", "evaluate", "--protocol", "--no-embeddings", "--splits", "1"]
    result = runner.invoke(app, [*args, "--ks", "4"], env=env)
    assert result.exit_code == 0, result.output
    assert "split 1/1" in result.output and "202 tune queries" in result.output
    for bad in (["--ks", "four"], ["--ks", "1"], ["--split", "everything"]):
        refused = runner.invoke(app, [*args, *bad], env=env)
        assert refused.exit_code == 2, (bad, refused.output)
    assert runner.invoke(app, ["assistant", "evaluate"], env=env).exit_code == 2
