"""``proofdesk import SYSTEM https://…``: the token comes from the environment, a refusal or a
bad option exits 2 with a reason and writes nothing, and the token is never printed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from proofdesk.cli.main import app
from proofdesk.store.models import Ticket
from tests.support import helpdesks
from tests.support.helpdesk_apis import TOKEN, ZENDESK_USER, SourceDesk, serving


def tickets(tmp_path: Path) -> int:
    engine = create_engine(f"sqlite:///{tmp_path / 'proofdesk.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Ticket)) or 0)
    finally:
        engine.dispose()


def test_an_import_from_an_api(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none.env")}

    def run(*args: str, token: str | None = None):  # type: ignore[no-untyped-def]
        extra = {} if token is None else {"PROOFDESK_IMPORT_TOKEN": token}
        return runner.invoke(app, list(args), env=env | extra)

    assert run("migrate").exit_code == 0
    assert run("org", "create", "acme").exit_code == 0
    desk = helpdesks.generate(12)
    with serving(SourceDesk("zendesk", desk)) as source:
        args = ("import", "zendesk", source.url, "--org", "acme", "--user", ZENDESK_USER)
        no_token = run(*args)
        assert no_token.exit_code == 2 and "PROOFDESK_IMPORT_TOKEN" in no_token.output
        refused = run(*args, token="not-the-token")
        assert refused.exit_code == 2 and "HTTP 401" in refused.output, refused.output
        assert "not-the-token" not in refused.output
        assert tickets(tmp_path) == 0
        bad_since = run(*args, "--since", "yesterday", token=TOKEN)
        assert bad_since.exit_code == 2 and isinstance(bad_since.exception, SystemExit)
        done = run(*args, token=TOKEN)
        assert done.exit_code == 0, done.output
        assert TOKEN not in done.output and "tickets created" in done.output
        assert tickets(tmp_path) == len(desk.tickets)
    on_a_file = run(
        "import", "csv", str(tmp_path / "t.csv"), "--org", "acme", "--since", "2026-01-01T00:00:00Z"
    )
    assert on_a_file.exit_code == 2 and "for an API" in on_a_file.output
    not_http = run("import", "zammad", "ftp://desk.example", "--org", "acme", token=TOKEN)
    assert not_http.exit_code == 2  # read as a file that does not exist
