"""``proofdesk telegram add-bot/set-webhook/list`` against the loopback Bot API server, on a
throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from proofdesk.cli.main import app
from tests.support.telegram import bot_api


def test_a_bot_is_added_checked_with_getme_and_listed_without_its_token(tmp_path: Path) -> None:
    runner = CliRunner()
    with bot_api() as api:
        env = {
            "PROOFDESK_DATA_DIR": str(tmp_path),
            "PROOFDESK_ENV_FILE": str(tmp_path / "none.env"),
            "PROOFDESK_TELEGRAM_API_URL": api.url,
        }

        def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
            return runner.invoke(app, list(args), env=env, input=stdin)

        assert run("migrate").exit_code == 0
        assert run("org", "create", "acme").exit_code == 0
        created = run(
            "user",
            "create",
            "ops@acme.example",
            "--org",
            "acme",
            "--role",
            "admin",
            "--password",
            "long enough pw",
        )
        assert created.exit_code == 0, created.output
        admin = ("--org", "acme", "--by", "ops@acme.example")
        bad = run("telegram", "add-bot", *admin, stdin="not-a-token\n")
        assert bad.exit_code == 2 and "invalid_input" in bad.output
        wrong = run("telegram", "add-bot", *admin, stdin="123456789:" + "x" * 35 + "\n")
        assert wrong.exit_code == 2 and "telegram_refused" in wrong.output  # 401 from getMe
        added = run("telegram", "add-bot", *admin, stdin=api.token + "\n")
        assert added.exit_code == 0, added.output
        assert f"@{api.username}" in added.stdout
        again = run("telegram", "add-bot", *admin, stdin=api.token + "\n")
        assert again.exit_code == 2 and "telegram_bot_taken" in again.output
        hook = run("telegram", "set-webhook", "https://desk.acme.example", *admin)
        assert hook.exit_code == 0, hook.output
        assert api.webhook["url"].startswith("https://desk.acme.example/api/v1/telegram/")
        assert len(api.webhook["secret_token"]) >= 32
        listing = run("telegram", "list", "--org", "acme")
        assert "webhook" in listing.stdout
        assert api.token not in listing.stdout + added.stdout + hook.stdout
        assert api.webhook["secret_token"] not in listing.stdout + hook.stdout
