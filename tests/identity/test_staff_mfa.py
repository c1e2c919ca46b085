"""Staff sign-in: TOTP enrolment and log-in, recovery codes, the MFA policy, account locks
that cannot lock the owner out, idle sessions, log-out everywhere, fixation, CSRF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from proofdesk.actions.sessions import do_record_login_failure
from proofdesk.identity import mfa
from proofdesk.identity.credentials import hash_password
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import ApiToken, Organization, User
from proofdesk.store.models import Session as BrowserSession
from tests.support.tenants import Tenant, make_tenant

API = "/api/v1"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(db: Database) -> Tenant:
    tenant = make_tenant(db, password=PASSWORD)
    with db.writer() as session:
        for name in ("admin", "supervisor"):
            user = session.get(User, tenant.members[name].user_id)
            assert user is not None
            user.password_hash = hash_password(PASSWORD)
    return tenant


def login(client: TestClient, tenant: Tenant, who: str, **extra: str) -> object:
    body = {"organization": tenant.slug, "email": tenant.members[who].email, "password": PASSWORD}
    body.update(extra)
    return client.post(f"{API}/auth/login", json=body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enrol(client: TestClient, token: str) -> tuple[pyotp.TOTP, list[str], str]:
    """Enrol; returns the authenticator, the recovery codes and the code used to confirm."""
    setup = client.post(f"{API}/auth/mfa/totp/setup", headers=bearer(token))
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["qr_svg"].startswith("<svg") and body["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(body["secret"])
    wrong = client.post(
        f"{API}/auth/mfa/totp/enable", json={"code": "000000"}, headers=bearer(token)
    )
    assert wrong.json()["error"]["code"] == "bad_mfa_code"
    used = totp.now()
    enabled = client.post(f"{API}/auth/mfa/totp/enable", json={"code": used}, headers=bearer(token))
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes, used


def next_code(totp: pyotp.TOTP) -> str:
    return totp.at(datetime.now(UTC) + timedelta(seconds=30))


def test_admins_must_enrol_then_log_in_with_a_code(client: TestClient, staff: Tenant) -> None:
    first = login(client, staff, "admin")
    assert first.status_code == 200, first.text
    assert first.json()["mfa_enrollment_required"] is True
    token = first.json()["token"]
    blocked = client.get(f"{API}/tickets", headers=bearer(token))
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (
        403,
        "mfa_enrollment_required",
    )
    blocked = client.post(
        f"{API}/auth/tokens", json={"name": "x", "scopes": ["admin"]}, headers=bearer(token)
    )
    assert blocked.status_code == 403  # no API token around the second factor
    totp, codes, used = enrol(client, token)
    assert client.get(f"{API}/tickets", headers=bearer(token)).status_code == 200
    again = client.post(f"{API}/auth/mfa/totp/setup", headers=bearer(token))
    assert again.json()["error"]["code"] == "mfa_enrolled"

    missing = login(client, staff, "admin")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "mfa_required")
    replayed = login(client, staff, "admin", totp_code=used)  # spent at enrolment
    assert replayed.json()["error"]["code"] == "bad_mfa_code"
    ok = login(client, staff, "admin", totp_code=next_code(totp))
    assert ok.status_code == 200 and ok.json()["mfa_enrollment_required"] is False
    by_recovery = login(client, staff, "admin", recovery_code=codes[0].upper())
    assert by_recovery.status_code == 200
    reused = login(client, staff, "admin", recovery_code=codes[0])
    assert reused.json()["error"]["code"] == "bad_mfa_code"
    # Admins cannot drop their second factor.
    drop = client.post(
        f"{API}/auth/mfa/totp/disable", json={"code": "123456"}, headers=bearer(ok.json()["token"])
    )
    assert drop.json()["error"]["code"] == "mfa_required_for_role"


def test_agents_need_mfa_when_the_organization_says_so(client: TestClient, staff: Tenant) -> None:
    assert login(client, staff, "agent").json()["mfa_enrollment_required"] is False
    policy = client.put(
        f"{API}/organization/mfa", json={"require_for_agents": True}, headers=staff.admin.headers
    )
    assert policy.status_code == 200
    assert login(client, staff, "agent").json()["mfa_enrollment_required"] is True
    client.put(
        f"{API}/organization/mfa", json={"require_for_agents": False}, headers=staff.admin.headers
    )


def test_an_agent_may_enrol_and_drop_the_second_factor(client: TestClient, staff: Tenant) -> None:
    token = login(client, staff, "agent").json()["token"]
    totp, _, _ = enrol(client, token)
    wrong = client.post(
        f"{API}/auth/mfa/totp/disable", json={"code": "000000"}, headers=bearer(token)
    )
    assert wrong.json()["error"]["code"] == "bad_mfa_code"
    drop = client.post(
        f"{API}/auth/mfa/totp/disable", json={"code": next_code(totp)}, headers=bearer(token)
    )
    assert drop.status_code == 204, drop.text
    assert login(client, staff, "agent").status_code == 200  # no code needed any more


def test_recovery_codes_can_be_replaced(client: TestClient, staff: Tenant) -> None:
    token = login(client, staff, "agent").json()["token"]
    totp, old, _ = enrol(client, token)
    fresh = client.post(
        f"{API}/auth/mfa/recovery-codes", json={"code": next_code(totp)}, headers=bearer(token)
    )
    assert fresh.status_code == 200 and len(fresh.json()["recovery_codes"]) == 10
    stale = login(client, staff, "agent", recovery_code=old[0])
    assert stale.json()["error"]["code"] == "bad_mfa_code"
    assert (
        login(client, staff, "agent", recovery_code=fresh.json()["recovery_codes"][0]).status_code
        == 200
    )


def test_failed_logins_lock_strangers_out_but_not_the_owner(
    client: TestClient, staff: Tenant, db: Database
) -> None:
    owner = TestClient(client.app)  # the owner's browser, which logged in before
    assert login(owner, staff, "agent").json()["new_device"] is True
    assert login(owner, staff, "agent").json()["new_device"] is False
    attacker = TestClient(client.app)
    for _ in range(mfa.FREE_FAILURES):
        bad = attacker.post(
            f"{API}/auth/login",
            json={"organization": staff.slug, "email": staff.agent.email, "password": "guess" * 3},
        )
        assert bad.json()["error"]["code"] == "bad_credentials"
    with db.writer() as session:
        user = session.get(User, staff.agent.user_id)
        assert user is not None and user.failed_logins == mfa.FREE_FAILURES
        assert user.locked_until is not None
        # Later in the backoff (and so no slow machine outlasts a 1-second lock mid-test).
        user.locked_until = datetime.now(UTC) + timedelta(minutes=1)
    locked = login(attacker, staff, "agent")  # even with the right password
    assert (locked.status_code, locked.json()["error"]["code"]) == (429, "account_locked")
    assert login(owner, staff, "agent").status_code == 200
    with db.reader() as session:
        user = session.get(User, staff.agent.user_id)
        assert user is not None and user.failed_logins == 0  # the owner's success reset it


def test_the_lock_grows_but_never_beyond_its_cap() -> None:
    user = User(failed_logins=0)
    now = datetime.now(UTC)
    waits = []
    for _ in range(40):
        do_record_login_failure(user, now)
        waits.append(mfa.locked_for(user, now))
    assert waits[: mfa.FREE_FAILURES - 1] == [0] * (mfa.FREE_FAILURES - 1)
    assert waits == sorted(waits) and max(waits) <= mfa.MAX_LOCK.total_seconds() + 1


def test_idle_sessions_end_and_logout_everywhere(
    client: TestClient, staff: Tenant, db: Database, settings: Settings
) -> None:
    one = login(client, staff, "agent").json()["token"]
    two = login(client, staff, "agent").json()["token"]
    assert client.get(f"{API}/auth/me", headers=bearer(one)).status_code == 200
    with db.writer() as session:
        session.execute(
            update(BrowserSession)
            .where(BrowserSession.user_id == staff.agent.user_id)
            .values(
                last_seen_at=datetime.now(UTC)
                - timedelta(seconds=settings.session_idle_seconds + 5)
            )
        )
    idle = client.get(f"{API}/auth/me", headers=bearer(one))
    assert (idle.status_code, idle.json()["error"]["code"]) == (401, "bad_session")
    three = login(client, staff, "agent").json()["token"]
    four = login(client, staff, "agent").json()["token"]
    assert client.post(f"{API}/auth/logout/all", headers=bearer(three)).status_code == 204
    for token in (two, three, four):
        assert client.get(f"{API}/auth/me", headers=bearer(token)).status_code == 401


def test_no_session_fixation_and_csrf_on_cookie_writes(client: TestClient, staff: Tenant) -> None:
    planted = TestClient(client.app, cookies={"pd_session": "chosen-by-an-attacker"})
    response = login(planted, staff, "agent")
    token = response.json()["token"]
    assert token != "chosen-by-an-attacker"
    assert response.cookies["pd_session"] == token
    assert client.get(f"{API}/auth/me", headers=bearer("chosen-by-an-attacker")).status_code == 401
    browser = TestClient(client.app)
    login(browser, staff, "agent")
    write = browser.post(f"{API}/auth/logout/all")
    assert (write.status_code, write.json()["error"]["code"]) == (403, "csrf_failed")
    csrf = browser.cookies.get("pd_csrf") or ""
    assert browser.post(f"{API}/auth/logout/all", headers={"X-CSRF-Token": csrf}).status_code == 204


def test_api_tokens_record_their_last_use(client: TestClient, staff: Tenant, db: Database) -> None:
    created = client.post(
        f"{API}/auth/tokens",
        json={"name": "ci", "scopes": ["tickets:read"]},
        headers=staff.agent.headers,
    )
    token = created.json()["token"]
    with db.reader() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.id == created.json()["id"])).one()
        assert row.last_used_at is None
    assert client.get(f"{API}/tickets", headers=bearer(token)).status_code == 200
    with db.reader() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.id == created.json()["id"])).one()
        assert row.last_used_at is not None
    listed = client.get(f"{API}/auth/tokens", headers=staff.agent.headers).json()
    [mine] = [t for t in listed if t["id"] == created.json()["id"]]
    assert mine["last_used_at"] is not None


def test_totp_secrets_are_not_stored_in_the_clear(
    client: TestClient, staff: Tenant, db: Database
) -> None:
    token = login(client, staff, "supervisor").json()["token"]
    setup = client.post(f"{API}/auth/mfa/totp/setup", headers=bearer(token)).json()
    with db.reader() as session:
        user = session.get(User, staff.supervisor.user_id)
        assert user is not None and user.totp_pending is not None
        assert setup["secret"].encode() not in bytes(user.totp_pending)
        org = session.get(Organization, user.organization_id)
        assert org is not None and org.require_mfa_for_agents is False
