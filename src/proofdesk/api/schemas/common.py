"""Request and response bodies. Requests forbid unknown fields: a typo is an error, not a
silently ignored setting."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from eth_utils.address import to_checksum_address
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from proofdesk.actions.inputs import StrictInput
from proofdesk.domain.roles import Role, Scope
from proofdesk.domain.tickets import Channel, Kind, Priority, Status, TicketState, Visibility
from proofdesk.store.models import (
    ApiToken,
    Message,
    Order,
    ServiceContract,
    Team,
    User,
    Wallet,
)

T = TypeVar("T")


#: Every request body forbids unknown fields and NUL characters (``actions.inputs``).
Request = StrictInput


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# strict: JSON `true` or "1" is not a chain id (lax mode would record chain 1).
ChainId = Annotated[int, Field(ge=1, le=2**53 - 1, strict=True)]


# --- auth -----------------------------------------------------------------------------------


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


class UserOut(BaseModel):
    id: str
    organization_id: str
    role: Role
    email: str | None
    display_name: str
    locale: str
    tier: str | None
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user, from_attributes=True)


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
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None

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


# --- users, teams, wallets, orders -------------------------------------------------------------


class UserIn(Request):
    role: Role = Role.CUSTOMER
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    password: Annotated[str, StringConstraints(min_length=10, max_length=1024)] | None = None
    locale: str = "en"
    tier: Annotated[str, StringConstraints(max_length=32)] | None = None


class UserPatch(Request):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    locale: str | None = None
    tier: Annotated[str, StringConstraints(max_length=32)] | None = None
    is_active: bool | None = None
    role: Literal["agent", "supervisor", "auditor", "admin"] | None = Field(
        default=None,
        description="Admins only, for staff: their sessions end; tokens keep what the role allows.",
    )


class WalletIn(Request):
    address: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    label: Annotated[str, StringConstraints(max_length=100)] | None = None


class WalletOut(BaseModel):
    id: str
    namespace: str
    address: str
    label: str | None
    created_at: datetime
    #: When the customer proved control by a signature (payouts go to such wallets only).
    verified_at: datetime | None = None

    @classmethod
    def of(cls, wallet: Wallet) -> WalletOut:
        out = cls.model_validate(wallet, from_attributes=True)
        # Stored in lower case (the form compared); shown with its EIP-55 checksum.
        return out.model_copy(update={"address": to_checksum_address(wallet.address)})


class OrderIn(Request):
    external_id: Id
    amount: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description='Decimal string, e.g. "129.99"; never a float.'
    )
    currency: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "paid"
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class OrderSyncIn(Request):
    """An order as the shop or exchange has it now (``PUT /orders/{id}`` or the webhook)."""

    customer_id: Id
    amount: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description='Decimal string, e.g. "0.25"; never a float.'
    )
    currency: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The shop's status: paid, delivered, failed, refunded, pending…"
    )
    kind: Literal["purchase", "withdrawal"] = "purchase"
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    chain_id: int | None = None
    tx_hash: Annotated[str, StringConstraints(max_length=80)] | None = None
    updated_at: datetime | None = Field(
        default=None,
        description="When the shop last changed the order; an older update is ignored.",
    )


class OrderWebhookIn(OrderSyncIn):
    external_id: Id


class OrderOut(BaseModel):
    id: str
    external_id: str
    amount: str
    currency: str
    status: str
    description: str | None
    created_at: datetime
    kind: str = "purchase"
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    chain_id: int | None = None
    tx_hash: str | None = None
    updated_at: datetime | None = None
    source: str = Field(
        default="staff", description="staff (typed in), api or webhook (synced by the shop)."
    )

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls.model_validate(order, from_attributes=True)


class CustomerProfileOut(UserOut):
    wallets: list[WalletOut]
    orders: list[OrderOut]


class TeamIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class TeamOut(BaseModel):
    id: str
    name: str
    member_ids: list[str]

    @classmethod
    def of(cls, team: Team, member_ids: list[str]) -> TeamOut:
        return cls(id=team.id, name=team.name, member_ids=sorted(member_ids))


# --- tickets -----------------------------------------------------------------------------------


class SignatureIn(Request):
    """An EIP-712 signature of this submission by one of the customer's wallets
    (docs/identity.md): the server rebuilds the typed data from the request and checks it."""

    signer: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
    signature: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")]
    nonce: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,78}$")] = Field(
        description="A random uint256, as decimal text; never used twice by one signer."
    )
    issued_at: int = Field(ge=0, le=2**63, description="Unix seconds when it was signed.")
    request_id: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="For a new ticket: an id the client chose (else empty)."
    )


class TicketIn(Request):
    kind: Kind
    subject: ShortText
    body: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]
    channel: Channel = Channel.WEB
    priority: Priority | None = None
    category: Annotated[str, StringConstraints(max_length=100)] | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    team_id: Id | None = None
    assignee_id: Id | None = None
    requester_id: Id | None = None
    order_id: Id | None = None
    wallet_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    chain_id: ChainId | None = None
    tx_hash: Annotated[str, StringConstraints(max_length=80)] | None = None
    attachment_ids: list[Id] = Field(default_factory=list, max_length=20)
    signed: SignatureIn | None = Field(
        default=None, description="The customer's EIP-712 signature of kind, subject and body."
    )


class TicketPatch(Request):
    """Fields to change; a field left out is unchanged, ``null`` clears it."""

    subject: ShortText | None = None
    kind: Kind | None = None
    priority: Priority | None = None
    category: Annotated[str, StringConstraints(max_length=100)] | None = None
    order_id: Id | None = None
    wallet_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    chain_id: ChainId | None = None
    tx_hash: Annotated[str, StringConstraints(max_length=80)] | None = None


class StatusIn(Request):
    status: Status


class AssignmentIn(Request):
    assignee_id: Id | None = None
    team_id: Id | None = None


class TagsIn(Request):
    add: list[Tag] = Field(default_factory=list, max_length=20)
    remove: list[Tag] = Field(default_factory=list, max_length=20)


class RatingIn(Request):
    score: int = Field(ge=1, le=5, strict=True, description="1 (very unhappy) to 5 (very happy).")
    comment: str | None = Field(default=None, max_length=2000)


class MergeIn(Request):
    into: Id = Field(description="Id of the ticket that absorbs this one.")


class MessageIn(Request):
    body: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]
    visibility: Visibility = Visibility.PUBLIC
    status: Status | None = Field(
        default=None, description="Move the ticket in the same step (e.g. reply and set pending)."
    )
    attachment_ids: list[Id] = Field(default_factory=list, max_length=20)
    signed: SignatureIn | None = None


class TicketOut(BaseModel):
    id: str
    number: int
    kind: Kind
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    requester_id: str
    category: str | None
    tags: list[str]
    team_id: str | None
    assignee_id: str | None
    order_id: str | None
    wallet_address: str | None
    chain_id: int | None
    tx_hash: str | None
    merged_into_id: str | None
    merged_from_ids: list[str]
    created_at: str
    updated_at: str
    first_response_at: str | None
    solved_at: str | None
    closed_at: str | None
    message_count: int
    rating: int | None = Field(default=None, description="The requester's rating, 1-5.")
    rated_at: str | None = None

    @classmethod
    def of(cls, state: TicketState) -> TicketOut:
        return cls.model_validate(state, from_attributes=True)


class AttachmentRef(BaseModel):
    id: str
    sha256: str
    size: int
    content_type: str
    filename: str


class ChangesOut(BaseModel):
    last_seq: int = Field(
        description="The ticket's last event number: pass it as `after` to wait for the next."
    )


class MessageOut(BaseModel):
    id: str
    ticket_id: str
    seq: int
    author_id: str | None
    author_role: Role
    visibility: Visibility
    body: str
    attachments: list[AttachmentRef]
    created_at: str
    signed_by: str | None = Field(
        default=None, description="The wallet that signed this message (EIP-712); null: unsigned."
    )

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            ticket_id=m.ticket_id,
            seq=m.seq,
            author_id=m.author_id,
            author_role=Role(m.author_role),
            visibility=Visibility(m.visibility),
            body=m.body,
            attachments=[AttachmentRef(**a) for a in json.loads(m.attachments)],
            created_at=m.created_at,
            signed_by=m.signed_by,
        )


class EventOut(BaseModel):
    seq: int
    ticket_id: str
    ticket_seq: int
    type: str
    actor_id: str | None
    occurred_at: str
    payload: dict[str, Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


# --- the log -----------------------------------------------------------------------------------


class InclusionProofOut(BaseModel):
    index: int
    size: int
    leaf_hash: str = Field(description="hex SHA-256(0x00 || leaf record)")
    hashes: list[str] = Field(description="PATH(index, D[size]) of RFC 9162, hex")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="PROOF(first, D[second]) of RFC 9162, hex")


class LogEntryOut(BaseModel):
    index: int
    leaf: str = Field(description="the leaf record, RFC 8785 canonical JSON")


class LogEntriesOut(BaseModel):
    size: int = Field(description="the log's size when read")
    entries: list[LogEntryOut] = Field(description="at most 1000; ask again from the last + 1")


# --- the chain --------------------------------------------------------------------------------


class AnchorOut(BaseModel):
    tree_size: int
    root: str = Field(description="Hex RFC 9162 root of the anchored tree.")
    status: str = Field(description="sent, mined, confirmed, failed or lost.")
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int | None
    block_hash: str | None
    block_time: str | None
    gas_used: int | None
    created_at: str


class AnchorsOut(BaseModel):
    anchors: list[AnchorOut]
    next_before: int | None = Field(description="Pass as `before` for older anchors.")


class ChainOut(BaseModel):
    chain_id: int
    development: bool = Field(description="True for the embedded development chain.")
    description: str
    head: int | None
    anchor_contract: str | None
    contract_live: bool
    checkpoint_size: int
    anchored_size: int
    in_flight: int | None
    problem: str | None


# --- Sign-In with Ethereum --------------------------------------------------------------------


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
    expires_at: datetime
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


# --- staff second factor ----------------------------------------------------------------------


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


class MfaPolicyIn(Request):
    require_for_agents: bool


# --- service contracts ------------------------------------------------------------------------


class ContractIn(Request):
    source: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] = Field(
        description="The contract's YAML document (docs/contracts.md)."
    )


class ContractOut(BaseModel):
    contract_hash: str
    name: str
    version: int
    active: bool
    published_at: datetime
    activated_at: datetime | None
    activated_seq: int | None = Field(
        default=None,
        description="The log entry of its latest activation (`contract.activated`): prove it "
        "with `/log/proof/inclusion`.",
    )
    kind: str = Field(default="ServiceContract", description="ServiceContract or Automation.")
    title: dict[str, str]

    @classmethod
    def of(cls, row: ServiceContract) -> ContractOut:
        document = json.loads(row.document)
        return cls(
            contract_hash=row.contract_hash,
            name=row.name,
            version=row.version,
            active=row.active,
            published_at=row.published_at,
            activated_at=row.activated_at,
            activated_seq=row.activated_seq,
            kind=document["kind"],
            title=document["metadata"]["title"],
        )


class ContractDocumentOut(ContractOut):
    source: str
    document: dict[str, Any]


class DecisionIn(Request):
    contract_hash: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="The active contract's id (`sha256:…`)."
    )
    facts: dict[str, Any] = Field(
        default_factory=dict,
        description="What you state about the claim: ``claim.*`` facts the contract declares "
        "(timestamps as RFC 3339 text, decimals as text). Every other fact comes from its "
        "provider and cannot be given here.",
    )


class DecisionOut(BaseModel):
    outcome: str
    rule: str | None
    reason: dict[str, str]
    actions: list[dict[str, Any]]
    trace: list[dict[str, str]]
    contract_hash: str
    facts_digest: str
    missing: list[str]


class DryRunIn(Request):
    source: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] = Field(
        description="A service contract's YAML document; it need not be published."
    )
    facts: dict[str, Any] = Field(
        default_factory=dict, description="``claim.*`` facts, as for a decision."
    )


class DryRunOut(BaseModel):
    contract_hash: str
    name: str
    version: int
    decision: DecisionOut
    facts: dict[str, Any] = Field(description="The facts the decision saw (JSON form).")
    sources: dict[str, str] = Field(description="Where each known fact came from.")
    unknown: dict[str, str] = Field(description="Why each fact not known is not.")


class EscrowSettingsIn(Request):
    merchant_address: Annotated[str, StringConstraints(min_length=42, max_length=42)] = Field(
        description="The account whose WarrantyEscrow bond pays this organization's claims."
    )


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="Shown once; sign order webhooks with it.")


class PayoutOut(BaseModel):
    id: int
    ticket_id: str
    claim_id: str
    kind: str
    recipient: str | None
    amount: str
    status: str
    hold_reason: str | None
    approved_by: str | None
    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    error: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: Any) -> PayoutOut:
        return cls.model_validate(row, from_attributes=True)


class PayoutApproveIn(Request):
    recipient: Annotated[str, StringConstraints(min_length=42, max_length=42)] | None = None


class PayoutRejectIn(Request):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SlaPolicyOut(BaseModel):
    id: int
    name: str
    position: int
    kinds: list[str] | None
    priorities: list[str] | None
    tiers: list[str] | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    periodic_update_minutes: int | None
    resolution_minutes: int | None
    warn_before_minutes: int
    escalate_to: str | None
    calendar: dict[str, Any] | None


class TicketSlaOut(BaseModel):
    policy: SlaPolicyOut | None
    due_at: str | None = Field(description="When the first running target breaches (or did).")
    timers: list[dict[str, Any]]


class BilingualText(Request):
    en: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    zh_CN: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(alias="zh-CN")


class MacroIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    title: BilingualText
    actions: list[dict[str, Any]] = Field(
        description="Actions of automation rules, and `{type: reply, body: {en, zh-CN}}` "
        "with `$ticket_number` and `$customer_name` filled in."
    )


class MacroOut(BaseModel):
    id: int
    name: str
    title: dict[str, str]
    actions: list[dict[str, Any]]


class AssistantMessageIn(Request):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    conversation_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    locale: Literal["en", "zh-CN"] | None = None


class AssistantSourceOut(BaseModel):
    slug: str
    locale: str
    title: str


class AssistantReplyOut(BaseModel):
    turn_id: int
    conversation_id: str
    kind: Literal["answer", "handoff"]
    reason: str | None = Field(description="Why a person takes over; null for an answer.")
    intent: str | None
    confidence: float
    text: str = Field(description="What to show the customer, in their language.")
    sources: list[AssistantSourceOut]
    entities: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    ticket_id: str | None = None
    ticket_number: int | None = None


class AssistantFeedbackIn(Request):
    helpful: bool


class KbArticleIn(Request):
    slug: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    locale: Literal["en", "zh-CN"]
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
    intent: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    audience: Literal["public", "agents"] = "public"
    questions: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=100
    )
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20
    )


class KbArticleOut(KbArticleIn):
    version: int
    updated_at: datetime
