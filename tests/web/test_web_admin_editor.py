"""The admin's sections and its rule editor: the lint endpoint answers the contract checker's
errors with their lines (nothing stored); in Chromium the editor has line numbers, shows the
error on its line as one types, keeps the form's textarea in step (so Check and Publish post
what is in the editor), and the table of sections shows one section at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.app.factory import create_app
from proofdesk.app.local import serving
from proofdesk.app.services import open_database
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import ServiceContract
from tests.support import paths
from tests.support.environment import unavailable
from tests.support.tenants import Tenant, make_tenant
from tests.support.web import csrf_of, staff_browser

CHROMIUM = Path("/usr/bin/chromium")
EDITOR = paths.ROOT / "src" / "proofdesk" / "web" / "static" / "vendor" / "editor.js"
BROKEN_LINE = 16  # the STARTER's `when:` line


def admin_browser(client: TestClient, db: Database, tenant: Tenant) -> TestClient:
    return staff_browser(client, db, tenant, Role.ADMIN, f"root@{tenant.slug}.example")


def test_lint_answers_the_checkers_errors_with_their_lines(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    web = admin_browser(client, db, tenant)
    page = web.get("/admin/contracts/new")
    token = csrf_of(page.text)
    with db.reader() as session:
        before = session.scalar(select(func.count()).select_from(ServiceContract))
    source = page.text.split('data-lint="/admin/contracts/lint">', 1)[1].split("</textarea>")[0]
    import html

    source = html.unescape(source)
    ok = web.post("/admin/contracts/lint", data={"csrf_token": token, "source": source})
    assert ok.status_code == 200 and ok.json() == {"errors": []}
    broken = source.replace('order.status == "failed"', 'order.colour == "red"')
    found = web.post("/admin/contracts/lint", data={"csrf_token": token, "source": broken})
    assert found.status_code == 200
    [error] = found.json()["errors"]
    assert error["line"] == BROKEN_LINE and "order.colour" in error["message"]
    yaml_error = web.post("/admin/contracts/lint", data={"csrf_token": token, "source": "a: [\n"})
    assert yaml_error.json()["errors"][0]["line"] == 2
    # Without the form's token, or as someone who is not an admin: refused, as every form.
    assert web.post("/admin/contracts/lint", data={"source": source}).status_code == 403
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(ServiceContract)) == before


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TestClient]]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not EDITOR.exists():
        unavailable("the rule editor is not built (make web)")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("editor"),
        checkpoint_interval_seconds=0,
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
    )
    db = open_database(settings, migrate=True)
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        web = admin_browser(client, db, make_tenant(db))
        with serving(settings, db) as url:
            yield url, web
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def signed_in(browser: Any, url: str, web: TestClient, **options: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": url} for c in web.cookies.jar]
    )
    return context


def test_the_editor_shows_line_numbers_and_errors_on_their_lines(
    live: tuple[str, TestClient], browser: Any
) -> None:
    url, web = live
    context = signed_in(browser, url, web)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/admin/contracts/new")
    page.wait_for_selector(".code-editor[data-ready='1']")
    numbers = page.locator(".cm-lineNumbers .cm-gutterElement").all_inner_texts()
    assert "1" in numbers and str(BROKEN_LINE) in numbers
    assert page.locator(".cm-lint-marker-error").count() == 0
    # Break the rule's expression by typing in the editor: the error appears on its line.
    line = page.locator(".cm-line").nth(BROKEN_LINE - 1)
    assert "order.status" in line.inner_text()
    line.click()
    page.keyboard.press("End")
    page.keyboard.type(" and order.colour == 1")
    page.wait_for_selector(".cm-lint-marker-error")
    marked = page.locator(".cm-gutter-lint .cm-gutterElement:has(.cm-lint-marker-error)")
    box = marked.bounding_box()
    target = line.bounding_box()
    assert box is not None and target is not None
    assert abs(box["y"] - target["y"]) < target["height"]  # the marker is on that line
    assert "order.colour" in page.locator("#source").input_value()  # the form posts this
    page.screenshot(path=str(paths.ROOT / "build" / "screenshots" / "admin-editor-en.png"))
    # Check posts what the editor holds; the page comes back with the error and its line.
    page.click("button[formaction='/admin/contracts/check']")
    page.wait_for_selector(".code-editor[data-ready='1']")
    assert f"line {BROKEN_LINE}" in page.inner_text("p.error")
    page.wait_for_selector(".cm-lint-marker-error")
    assert errors == [], errors
    context.close()


def test_without_javascript_the_textarea_is_the_editor(
    live: tuple[str, TestClient], browser: Any
) -> None:
    url, web = live
    context = signed_in(browser, url, web, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{url}/admin/contracts/new")
    assert page.locator(".code-editor").count() == 0
    assert page.is_visible("textarea#source")
    page.fill("#source", "kind: [")
    page.click("button[formaction='/admin/contracts/check']")
    assert "YAML" in page.inner_text("p.error")
    context.close()


def test_the_sections_show_one_at_a_time(live: tuple[str, TestClient], browser: Any) -> None:
    url, web = live
    context = signed_in(browser, url, web)
    page = context.new_page()
    page.goto(f"{url}/admin")
    sections = page.locator("section.admin-section")
    assert sections.count() >= 9
    assert all(sections.nth(i).is_visible() for i in range(sections.count()))
    page.click("nav.sections a[href='#contracts']")
    assert page.is_visible("#contracts") and not page.is_visible("#people")
    assert page.locator("section.admin-section:visible").count() == 1
    page.click("nav.sections a[href='/admin']")
    assert page.is_visible("#people") and page.is_visible("#contracts")
    context.close()
