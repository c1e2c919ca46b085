"""The browser verifier agrees with ``proofdesk verify``: every receipt of the corpus
(tests/support/receipts.py: valid ones and each kind of tampering, from a real deployment) gets
the same verdict from both, and the same failing item, on the page served at ``/verify`` and on
the copy downloaded from it and opened from ``file://`` with no server at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proofdesk.app.factory import create_app
from proofdesk.app.local import serving
from proofdesk.app.services import open_database
from proofdesk.cli.main import app as cli
from proofdesk.settings import Settings
from tests.support import paths
from tests.support.environment import unavailable
from tests.support.receipts import Case, Deployment, corpus
from tests.support.tenants import make_tenant

SHOTS = paths.ROOT / "build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
PAGE = paths.ROOT / "src" / "proofdesk" / "web" / "static" / "vendor" / "proofdesk-verifier.html"

FAILED = re.compile(r"^\s+✗ (.+?): ", re.MULTILINE)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Case]]]:
    data = tmp_path_factory.mktemp("verifier")
    settings = Settings(
        data_dir=data,
        checkpoint_interval_seconds=0,
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        public_rate_per_minute=100_000,
    )
    db = open_database(settings, migrate=True)
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        cases = corpus(Deployment(client, db, settings, make_tenant(db)))
        with serving(settings, db) as url:
            yield url, cases
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not PAGE.exists():
        unavailable("the browser verifier is not built (make web)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def cli_verdict(case: Case, folder: Path) -> tuple[str, set[str]]:
    result = CliRunner().invoke(cli, case.cli_args(folder))
    verdict = {0: "valid", 1: "invalid", 2: "unreadable"}.get(result.exit_code, "crashed")
    assert verdict != "crashed", result.output
    return verdict, set(FAILED.findall(result.output))


def browser_verdict(page: Any, case: Case) -> tuple[str, set[str]]:
    page.evaluate("document.getElementById('result').hidden = true")
    page.evaluate("document.getElementById('more').open = true")
    page.fill("#receipt", case.text)
    if case.text:
        page.set_input_files("#receipt-file", [])
    else:  # an empty file chosen, as a holder would
        page.set_input_files(
            "#receipt-file", {"name": "r.json", "mimeType": "application/json", "buffer": b""}
        )
    page.fill("#key", case.key or "")
    page.fill("#since", case.since or "")
    page.fill("#checkpoint", case.checkpoint or "")
    page.fill("#witnesses", "\n".join(case.witnesses))
    page.fill("#min-witnesses", "" if case.min_witnesses is None else str(case.min_witnesses))
    page.click("#check")
    page.wait_for_selector("#result:not([hidden])")
    verdict = page.get_attribute("#verdict", "data-verdict")
    failed = page.eval_on_selector_all(
        "#checks li[data-ok=false]", "nodes => nodes.map(n => n.dataset.item)"
    )
    return str(verdict), set(failed)


def agree(page: Any, cases: list[Case], folder: Path) -> None:
    disagreements = []
    for case in cases:
        expected = cli_verdict(case, folder)
        seen = browser_verdict(page, case)
        if seen != expected:
            disagreements.append((case.name, "cli", expected, "browser", seen))
        verdict, failed = expected
        if verdict != case.verdict or (
            case.fails is not None and not any(i.startswith(case.fails) for i in failed)
        ):
            disagreements.append((case.name, "expected", case.verdict, case.fails, expected))
    assert not disagreements, disagreements


def test_the_corpus_covers_every_kind(deployment: tuple[str, list[Case]]) -> None:
    _, cases = deployment
    verdicts = {c.verdict for c in cases}
    assert verdicts == {"valid", "invalid", "unreadable"}
    assert len({c.name for c in cases}) == len(cases)
    assert {c.fails for c in cases} >= {
        "leaf",
        "checkpoint",
        "log key",
        "receipt",
        "witnesses",
        "consistency",
        "given checkpoint",
        "signature of event",
    }


def test_served_and_downloaded_verifiers_agree_with_the_cli(
    deployment: tuple[str, list[Case]], browser: Any, tmp_path: Path
) -> None:
    url, cases = deployment
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(f"{url}/verify")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "connect-src 'none'" in policy and "unsafe-inline" not in policy
    page.wait_for_selector("body[data-ready='1']")
    agree(page, cases, tmp_path / "served")
    # The checkpoint key it verified against is shown: the pinned one.
    valid = next(c for c in cases if c.name == "valid")
    browser_verdict(page, valid)
    assert page.text_content("#checkpoint-key") == valid.key
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("document.getElementById('more').open = false")
    page.screenshot(path=str(SHOTS / "verifier-valid-en.png"), full_page=True)
    assert requests == [f"{url}/verify"], requests  # it asked the server nothing

    with page.expect_download() as download:
        page.click("#download a")
    copy = tmp_path / "proofdesk-verifier.html"
    download.value.save_as(copy)
    offline = context.new_page()
    offline.on("pageerror", lambda e: errors.append(str(e)))
    offline.route("http*://**", lambda route: route.abort())  # no network: file:// only
    offline.goto(copy.as_uri())
    offline.wait_for_selector("body[data-ready='1']")
    assert offline.is_hidden("#download")
    agree(offline, cases, tmp_path / "offline")
    assert not errors, errors
    context.close()


def test_the_download_is_the_served_page(deployment: tuple[str, list[Case]]) -> None:
    import httpx

    url, _ = deployment
    page = httpx.get(f"{url}/verify")
    copy = httpx.get(f"{url}/verify/proofdesk-verifier.html")
    assert copy.status_code == 200 and copy.content == page.content
    assert copy.headers["content-disposition"] == 'attachment; filename="proofdesk-verifier.html"'
    # Self-contained: no script or style from anywhere.
    assert not re.search(rb"<script[^>]+src=|<link[^>]+stylesheet", copy.content)


def axe_violations(page: Any) -> list[Any]:
    page.evaluate((paths.ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text("utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))"
    )
    return list(found)


@pytest.mark.parametrize(
    ("locale", "title", "valid", "invalid"),
    [("en-US", "Check a receipt", "VALID", "INVALID"), ("zh-CN", "核验回执", "有效", "无效")],
)
def test_the_page_speaks_the_browsers_language_and_passes_axe(
    deployment: tuple[str, list[Case]],
    browser: Any,
    locale: str,
    title: str,
    valid: str,
    invalid: str,
) -> None:
    url, cases = deployment
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{url}/verify")
        page.wait_for_selector("body[data-ready='1']")
        assert page.inner_text("h1") == title
        assert axe_violations(page) == []
        for name, verdict in (("valid", valid), ("bad-commitment", invalid)):
            browser_verdict(page, next(c for c in cases if c.name == name))
            assert page.inner_text("#verdict") == verdict
        assert axe_violations(page) == []
        context.close()
