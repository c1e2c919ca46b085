"""Browsers over the TestClient's app: people signing in with a password, staff with a second
factor, and the CSRF token of a page."""

from __future__ import annotations

import re
import time

import pyotp
from fastapi.testclient import TestClient

from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.mfa import do_enable_mfa, do_start_enrolment
from proofdesk.domain.roles import Role
from proofdesk.store.db import Database
from tests.support.tenants import Tenant

PASSWORD = "correct horse battery staple"


def browser(client: TestClient) -> TestClient:
    """A fresh cookie jar on the same app (another person's browser)."""
    return TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)


def sign_in(client: TestClient, slug: str, email: str, **headers: str) -> TestClient:
    web = browser(client)
    web.headers.update(headers)
    r = web.post("/login", data={"organization": slug, "email": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return web


def new_agent(db: Database, tenant: Tenant, email: str, name: str = "Agent") -> str:
    """A new agent of the tenant who signs in with :data:`PASSWORD`; their id."""
    with db.writer() as session:
        return do_create_user(
            session,
            tenant.org_id,
            role=Role.AGENT,
            display_name=name,
            email=email,
            password=PASSWORD,
        ).id


def staff_browser(
    client: TestClient, db: Database, tenant: Tenant, role: Role, email: str
) -> TestClient:
    """A browser signed in as a new member of staff with a second factor enrolled."""
    with db.writer() as session:
        user = do_create_user(
            session, tenant.org_id, role=role, display_name="管理员", email=email, password=PASSWORD
        )
        assert db.keyring is not None
        secret, _, _ = do_start_enrolment(user, db.keyring)
        do_enable_mfa(session, user, db.keyring, pyotp.TOTP(secret).now())
    web = browser(client)
    # The enrolment used this step's code; the next step's is a fresh one.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    signed = web.post(
        "/login",
        data={"organization": tenant.slug, "email": email, "password": PASSWORD, "totp_code": code},
    )
    assert signed.status_code == 303, signed.text
    return web


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
