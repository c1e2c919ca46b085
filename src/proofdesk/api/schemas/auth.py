"""The request and response bodies of ``api/routes/auth.py``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Request, UserOut, UtcTime
from proofdesk.domain.roles import Scope
from proofdesk.store.models import (
    ApiToken,
)


class LoginIn(Request):
    organization: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    totp_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = Field(
        default=None, description="The authenticator app's code, for accounts with TOTP."
    )
    recovery_code: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        default=None, description="A one-time recovery code instead of the TOTP code."
    )


class LoginOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; also set as a cookie.")
    csrf_token: str = Field(description="Send as `X-CSRF-Token` on writes authenticated by cookie.")
    expires_in: int
    user: UserOut
    mfa_enrollment_required: bool = Field(
        default=False,
        description="True: this session can only enrol a second factor, which the role needs.",
    )
    new_device: bool = Field(default=False, description="First log-in from this browser.")


class TokenIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: list[Scope] = Field(min_length=1)
    expires_at: AwareDatetime | None = None  # a naive time cannot be compared with now


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: UtcTime
    expires_at: UtcTime | None
    revoked_at: UtcTime | None
    last_used_at: UtcTime | None = None

    @classmethod
    def of(cls, row: ApiToken) -> TokenOut:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=row.scopes.split(),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")


class SiweNonceIn(Request):
    organization: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    address: Annotated[str, StringConstraints(min_length=42, max_length=42)] | None = Field(
        default=None,
        description="The wallet's address: the answer then carries the whole message to sign "
        "(for a page that has no EIP-55 checksum of its own).",
    )
    chain_id: int | None = Field(
        default=None, description="The wallet's chain, for the prepared message's `Chain ID:`."
    )


class SiweNonceOut(BaseModel):
    nonce: str = Field(
        description="Put in the message's `Nonce:` line; valid once, until expires_at."
    )
    expires_at: UtcTime
    domain: str = Field(description="The message's domain (this deployment's host[:port]).")
    uri: str = Field(description="A URI on this deployment for the message's `URI:` line.")
    version: str = "1"
    chain_ids: list[int] = Field(description="Chain ids the message may name.")
    statement: str = Field(description="The statement to show the user.")
    message: str | None = Field(
        default=None,
        description="When `address` was given: the EIP-4361 message to have the wallet sign.",
    )


class SiweIn(Request):
    message: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="The EIP-4361 message, exactly as signed (LF line ends)."
    )
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="65-byte hex signature (EIP-191 personal_sign, or the wallet's EIP-1271 one)."
    )


class TotpSetupOut(BaseModel):
    secret: str = Field(description="Base32 secret, for typing into an authenticator app.")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code (inline SVG).")


class TotpCodeIn(Request):
    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")


class EmailIn(Request):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
