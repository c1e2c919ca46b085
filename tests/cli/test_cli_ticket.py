"""``proofdesk ticket … --url``: the command line as a client of a desk's REST API, against a
real ``proofdesk serve`` on loopback. The desk's own rules hold (a customer's token sees only
its requests and never an internal note; a read-only token cannot reply; closed is final), and
every refusal is a message with the API's code and exit 2, the token never printed."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from proofdesk.cli.main import app
from tests.support.server import Deployment, free_port, start

pytestmark = pytest.mark.server


def setup(data: Path) -> dict[str, str]:
    """An organization with an agent and two customers, and their tokens (in this process)."""
    env = {"PROOFDESK_DATA_DIR": str(data), "PROOFDESK_ENV_FILE": str(data / "none.env")}

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return str(result.stdout).strip()

    run("migrate")
    run("org", "create", "acme")
    run(
        "user",
        "create",
        "agent@acme.example",
        "--org",
        "acme",
        "--role",
        "agent",
        "--password",
        "long enough pw",
    )
    for who in ("ann", "bob"):
        run("user", "create", f"{who}@mail.example", "--org", "acme", "--role", "customer")
    return {
        "agent": run("token", "create", "agent@acme.example", "--org", "acme"),
        "reader": run(
            "token", "create", "agent@acme.example", "--org", "acme", "--scope", "tickets:read"
        ),
        "ann": run("token", "create", "ann@mail.example", "--org", "acme"),
        "bob": run("token", "create", "bob@mail.example", "--org", "acme"),
    }


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A served desk with an agent, two customers, a read-only token, and a ticket each."""
    data = tmp_path_factory.mktemp("desk")
    tokens = setup(data)
    process, url = start(Deployment(data, f"sqlite:///{data / 'proofdesk.db'}"))
    try:
        for who, subject in (("ann", "Deposit not credited 充值未到账"), ("bob", "KYC pending")):
            answer = httpx2.post(
                f"{url}/api/v1/tickets",
                json={"kind": "question", "subject": subject, "body": f"{who} asks for help"},
                headers={"Authorization": f"Bearer {tokens[who]}"},
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
        yield url, tokens
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def cli(  # type: ignore[no-untyped-def]
    tmp_path: Path, *args: str, token: str | None = None, input: str | None = None, **env: str
):
    base = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none.env")}
    if token is not None:
        base["PROOFDESK_REMOTE_TOKEN"] = token
    return CliRunner().invoke(app, list(args), env=base | env, input=input)


def test_an_agent_lists_reads_replies_notes_and_closes(
    desk: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = desk
    listing = cli(tmp_path, "ticket", "list", "--url", url, token=tokens["agent"])
    assert listing.exit_code == 0, listing.output
    assert "充值未到账" in listing.output and "KYC pending" in listing.output
    found = cli(
        tmp_path, "ticket", "list", "--url", url, "--q", "KYC", "--json", token=tokens["agent"]
    )
    assert '"KYC pending"' in found.output and "充值" not in found.output
    reply = cli(
        tmp_path,
        "ticket",
        "reply",
        "1",
        "We see 3 confirmations.",
        "--url",
        url,
        "--status",
        "pending",
        token=tokens["agent"],
    )
    assert reply.exit_code == 0 and "reply added to #1" in reply.output, reply.output
    note = cli(
        tmp_path,
        "ticket",
        "reply",
        "#1",
        "-",
        "--internal",
        "--url",
        url,
        token=tokens["agent"],
        input="checked the node",
    )
    assert note.exit_code == 0, note.output
    shown = cli(tmp_path, "ticket", "show", "1", "--url", url, token=tokens["agent"])
    assert "3 confirmations" in shown.output and "checked the node" in shown.output
    assert "pending" in shown.output
    closed = cli(tmp_path, "ticket", "close", "1", "--url", url, token=tokens["agent"])
    assert closed.exit_code == 0 and "#1 is closed" in closed.output
    reopen = cli(tmp_path, "ticket", "status", "1", "open", "--url", url, token=tokens["agent"])
    assert reopen.exit_code == 2 and "[ticket_closed]" in reopen.stderr
    assert tokens["agent"] not in listing.output + shown.output + reopen.stderr


def test_a_customer_sees_only_their_own_and_no_internal_note(
    desk: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = desk
    listing = cli(tmp_path, "ticket", "list", "--url", url, token=tokens["bob"])
    assert "KYC pending" in listing.output and "充值" not in listing.output
    theirs = cli(tmp_path, "ticket", "show", "1", "--url", url, token=tokens["ann"])
    assert theirs.exit_code == 0 and "3 confirmations" in theirs.output
    assert "checked the node" not in theirs.output
    others = cli(tmp_path, "ticket", "show", "1", "--url", url, token=tokens["bob"])
    assert others.exit_code == 2 and "[not_found]" in others.stderr


def test_refusals_are_exit_2_with_the_code(
    desk: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = desk
    read_only = cli(tmp_path, "ticket", "reply", "2", "hello", "--url", url, token=tokens["reader"])
    assert read_only.exit_code == 2 and "scope" in read_only.stderr, read_only.stderr
    wrong = cli(tmp_path, "ticket", "list", "--url", url, token="pdk_" + "x" * 43)
    assert wrong.exit_code == 2 and "[bad_token]" in wrong.stderr, wrong.stderr
    none = cli(tmp_path, "ticket", "list", "--url", url)
    assert none.exit_code == 2 and "PROOFDESK_REMOTE_TOKEN" in none.stderr
    down = cli(
        tmp_path,
        "ticket",
        "list",
        "--url",
        f"http://127.0.0.1:{free_port()}",
        token=tokens["agent"],
    )
    assert down.exit_code == 2 and "[remote_unreachable]" in down.stderr
    not_http = cli(tmp_path, "ticket", "list", "--url", "desk.example", token=tokens["agent"])
    assert not_http.exit_code == 2 and "[remote_url_invalid]" in not_http.stderr
    empty = cli(tmp_path, "ticket", "reply", "2", "  ", "--url", url, token=tokens["agent"])
    assert empty.exit_code == 2 and "[empty_message]" in empty.stderr
    for result in (read_only, wrong, down, empty):
        assert "Traceback" not in result.output + result.stderr


def test_the_token_file_must_be_the_owners_alone(
    desk: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = desk
    path = tmp_path / "token"
    path.write_text(tokens["bob"] + "\n")
    path.chmod(0o644)
    shared = cli(tmp_path, "ticket", "list", "--url", url, PROOFDESK_REMOTE_TOKEN_FILE=str(path))
    assert shared.exit_code == 2 and "chmod 600" in shared.stderr
    path.chmod(0o600)
    own = cli(tmp_path, "ticket", "list", "--url", url, PROOFDESK_REMOTE_TOKEN_FILE=str(path))
    assert own.exit_code == 0 and "KYC pending" in own.output
    by_setting = cli(tmp_path, "ticket", "list", token=tokens["bob"], PROOFDESK_REMOTE_URL=url)
    assert by_setting.exit_code == 0 and "KYC pending" in by_setting.output
