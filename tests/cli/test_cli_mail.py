"""``proofdesk mailbox add/list`` and ``proofdesk mail-inbound``'s refusal without an address,
on a throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from proofdesk.cli.main import app


def test_mailboxes_are_added_by_an_admin_and_listed_without_secrets(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none.env")}

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
    added = run(
        "mailbox",
        "add",
        "support@acme.example",
        "--org",
        "acme",
        "--by",
        "ops@acme.example",
        "--imap-host",
        "127.0.0.1",
        "--imap-security",
        "plain",
        stdin="imap-pw-123\n",
    )
    assert added.exit_code == 0, added.output
    listing = run("mailbox", "list", "--org", "acme")
    assert "support@acme.example" in listing.stdout
    assert "imap-pw-123" not in listing.stdout
    again = run(
        "mailbox", "add", "support@acme.example", "--org", "acme", "--by", "ops@acme.example"
    )
    assert again.exit_code == 2 and "mailbox_taken" in again.output
    not_admin = run(
        "mailbox", "add", "help@acme.example", "--org", "acme", "--by", "x@acme.example"
    )
    assert not_admin.exit_code == 2
    bad = run("mailbox", "add", "not an address", "--org", "acme", "--by", "ops@acme.example")
    assert bad.exit_code == 2
    inbound = run("mail-inbound")
    assert inbound.exit_code == 2 and "PROOFDESK_MAIL_INBOUND_SMTP" in inbound.output
