"""The ``proofdesk`` command line: real commands on a throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from proofdesk.cli.main import app


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none.env")}

    def invoke(*args: str, extra_env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env | (extra_env or {}))

    return invoke


def test_migrate_org_user_token(run) -> None:  # type: ignore[no-untyped-def]
    assert run("migrate").exit_code == 0
    result = run("org", "create", "acme", "--name", "Acme")
    assert result.exit_code == 0, result.output
    result = run(
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
    assert result.exit_code == 0, result.output
    result = run("token", "create", "ops@acme.example", "--org", "acme")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("pdk_")
    listing = run("user", "list", "--org", "acme")
    assert "ops@acme.example" in listing.stdout


def test_errors_exit_2_with_a_message(run) -> None:  # type: ignore[no-untyped-def]
    run("migrate")
    result = run("org", "create", "Bad Slug!")
    assert result.exit_code == 2
    assert "slug" in result.stderr
    assert run("org", "create", "acme").exit_code == 0
    assert run("org", "create", "acme").exit_code == 2
    result = run("user", "create", "not-an-email", "--org", "acme", "--role", "customer")
    assert result.exit_code == 2 and "e-mail" in result.stderr
    result = run("user", "create", "a@b.example", "--org", "nope", "--role", "customer")
    assert result.exit_code == 2 and "nope" in result.stderr
    assert "[not_found]" in result.stderr  # the code prints as text, not as Rich markup
    result = run("ticket", "list", "--org", "acme", "--status", "bogus")
    assert result.exit_code == 2 and "bogus" in result.stderr
    result = run("ticket", "show", "#999", "--org", "acme")
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr


def test_bad_config_is_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    result = run("migrate", extra_env={"PROOFDESK_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "port" in result.stderr.lower()
    result = run("migrate", extra_env={"PROOFDESK_DATABASE_URL": "mysql://x"})
    assert result.exit_code == 2
    assert "database_url" in result.stderr


def test_ticket_list_show_and_rebuild(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from proofdesk.access import Actor
    from proofdesk.actions.accounts import do_create_organization, do_create_user
    from proofdesk.actions.tickets import NewTicket, do_add_message, do_create_ticket
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import Role
    from proofdesk.domain.tickets import Kind, Visibility
    from proofdesk.settings import Settings
    from proofdesk.store.models import Ticket

    db = open_database(Settings(data_dir=tmp_path), migrate=True)
    with db.writer() as s:
        org = do_create_organization(s, "acme", "Acme")
        customer = do_create_user(
            s, org.id, role=Role.CUSTOMER, display_name="李雷", email="li@x.example"
        )
        agent = do_create_user(
            s, org.id, role=Role.AGENT, display_name="Ann", email="ann@x.example"
        )
        state = do_create_ticket(
            s,
            Actor(customer.id, org.id, Role.CUSTOMER),
            NewTicket(kind=Kind.QUESTION, subject="充值未到账", body="我的 USDT 充值还没到账"),
        )
        do_add_message(
            s,
            Actor(agent.id, org.id, Role.AGENT),
            s.get(Ticket, state.id),
            body="checked: 3 confirmations",
            visibility=Visibility.INTERNAL,
        )
    db.dispose()
    listing = run("ticket", "list", "--org", "acme")
    assert listing.exit_code == 0 and "充值未到账" in listing.stdout
    shown = run("ticket", "show", "#1", "--org", "acme")
    assert shown.exit_code == 0, shown.output
    assert "3 confirmations" in shown.stdout and "internal" in shown.stdout
    assert run("rebuild", "--check").exit_code == 0
    assert run("rebuild").exit_code == 0
    assert "1" in run("ticket", "list", "--org", "acme", "--json").stdout
