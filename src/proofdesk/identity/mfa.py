"""Staff sign-in: TOTP (RFC 6238) second factor, recovery codes, account locks, known devices.

- TOTP secrets are 160-bit, wrapped under the deployment's data key (a database leak alone does
  not give codes); a code is accepted in the current 30-second step or the one before or after,
  and never twice (the last used step is kept), so a code seen over someone's shoulder is spent.
- Ten recovery codes of 50 bits each are shown once at enrolment; only their SHA-256 is kept and
  each works once.
- After ``FREE_FAILURES`` consecutive failed log-ins an account is locked for 2^(n-5) seconds,
  at most ``MAX_LOCK``. The lock does not apply to a browser the user logged in from before
  (its device cookie is known), so an attacker who keeps failing cannot lock the owner out.

What changes rows is a ``do_*`` action: enrolling, re-keying and removing the factor in
:mod:`proofdesk.actions.mfa`, the log-in's bookkeeping (failures, devices, spent codes) in
:mod:`proofdesk.actions.sessions`.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy.orm import Session

from proofdesk.canonical import maybe_stored_utc
from proofdesk.domain.roles import Role
from proofdesk.store.models import KnownDevice, Organization, User

ISSUER = "ProofDesk"
RECOVERY_CODES = 10
FREE_FAILURES = 5
MAX_LOCK = timedelta(minutes=15)
STEP_SECONDS = 30


def requires_mfa(session: Session, user: User) -> bool:
    """Admins and supervisors always; agents when their organization says so."""
    if user.role in (Role.ADMIN.value, Role.SUPERVISOR.value):
        return True
    if user.role == Role.AGENT.value:
        org = session.get(Organization, user.organization_id)
        return bool(org and org.require_mfa_for_agents)
    return False


def secret_context(user: User) -> str:
    """What a user's TOTP secret is wrapped for: a secret moved to another user does not open."""
    return f"totp:{user.id}"


def provisioning(user: User, secret: str) -> tuple[str, str]:
    """The otpauth URI of a secret and its QR code as a standalone SVG document, for the
    authenticator app. Standalone, with its ``xmlns``: the page shows it as a data URL in an
    ``<img>``, and a browser draws an SVG image only in the SVG namespace (``svg_inline`` leaves
    the namespace out, for SVG pasted into HTML)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email or user.id, issuer_name=ISSUER)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", xmldecl=False, svgns=True, scale=4)
    return uri, svg.getvalue().decode()


def accepted_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step ``code`` belongs to, if it is valid and newer than ``last_step``."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code) and (
            last_step is None or step > last_step
        ):
            return step
    return None


def recovery_hash(code: str) -> str:
    """Only this is stored: a recovery code is compared case- and space-insensitively."""
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


# -- locks and devices -------------------------------------------------------------------------


def device_hash(cookie: str | None) -> str | None:
    return hashlib.sha256(cookie.encode()).hexdigest() if cookie else None


def is_known_device(session: Session, user: User, cookie: str | None) -> bool:
    digest = device_hash(cookie)
    return digest is not None and session.get(KnownDevice, (digest, user.id)) is not None


def locked_for(user: User, now: datetime) -> int:
    """Seconds the account stays locked (0: not locked)."""
    until = maybe_stored_utc(user.locked_until)
    return 0 if until is None or until <= now else int((until - now).total_seconds()) + 1
