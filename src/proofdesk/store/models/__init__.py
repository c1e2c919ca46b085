"""Tables. ``ticket_events`` is the source of truth; ``tickets``, ``ticket_tags`` and
``messages`` are projections of it that ``proofdesk rebuild`` can drop and recompute.

Ids are random UUID strings so that nothing about one tenant (counts, order) leaks to another;
tickets also carry a per-organization ``number`` for people to quote.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ID = String(36)
TZ = DateTime(timezone=True)
TIME_TEXT = String(32)  # RFC 3339 UTC text, as in event payloads


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: Admins and supervisors always need a second factor; agents when this is set.
    require_mfa_for_agents: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The account whose bond in the WarrantyEscrow contract pays this organization's claims.
    merchant_address: Mapped[str | None] = mapped_column(String(42))
    #: The HMAC key of signed order webhooks, wrapped under the data key.
    webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary)


class User(Base):
    """Everyone who can act: customers and staff. ``role`` is one of ``domain.roles.Role``."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "email", name="uq_users_org_email"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The TOTP secret, wrapped under the data key; set once enrolment is confirmed.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: A secret offered by ``/auth/mfa/totp/setup``, not yet confirmed by a code.
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(TZ)


class Wallet(Base):
    """A wallet address linked to a customer (CAIP-2 style namespace, EVM for now)."""

    __tablename__ = "wallets"
    __table_args__ = (
        UniqueConstraint("organization_id", "address", name="uq_wallets_org_address"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    namespace: Mapped[str] = mapped_column(String(16), default="eip155")
    address: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: When the customer proved control by a signature; payouts go to such wallets only.
    verified_at: Mapped[datetime | None] = mapped_column(TZ)


class Order(Base):
    """A purchase or a withdrawal that a shop or exchange synced (API or signed webhook); the
    source of ``order.*`` and ``withdrawal.*`` facts of service contracts."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("organization_id", "external_id", name="uq_orders_org_ext"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(80))  # decimal string, never a float
    currency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: ``purchase`` or ``withdrawal``.
    kind: Mapped[str] = mapped_column(String(16), default="purchase")
    paid_at: Mapped[datetime | None] = mapped_column(TZ)
    delivered_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The chain and transaction that paid the order (or carried the withdrawal).
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    updated_at: Mapped[datetime | None] = mapped_column(TZ)
    #: Who says so: ``staff`` (typed in by an agent), ``api`` (an admin's integration token) or
    #: ``webhook`` (signed by the shop). Contracts take only synced orders as facts.
    source: Mapped[str] = mapped_column(String(16), default="staff")


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_teams_org_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZ)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)


class LogHead(Base):
    """One row: the sequencer. Every write transaction locks it first (see ``store.db``)."""

    __tablename__ = "log_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_seq: Mapped[int] = mapped_column(BigInteger)
    #: The Merkle tree's compact range at ``next_seq`` leaves (``ledger.store.LedgerWriter``).
    frontier: Mapped[bytes | None] = mapped_column(LargeBinary)


class TicketEvent(Base):
    """The append-only stream. ``payload`` is RFC 8785 canonical JSON text."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "ticket_seq", name="uq_ticket_events_ticket_seq"),
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[str] = mapped_column(ID)
    ticket_seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(ID)
    occurred_at: Mapped[str] = mapped_column(TIME_TEXT)
    payload: Mapped[str] = mapped_column(Text)


class Ticket(Base):
    """Projection of ``ticket_events`` (see ``domain.tickets.TicketState``)."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("organization_id", "number", name="uq_tickets_org_number"),
        Index("ix_tickets_org_updated", "organization_id", "updated_at", "id"),
        Index("ix_tickets_org_status", "organization_id", "status"),
        Index("ix_tickets_org_requester", "organization_id", "requester_id", "updated_at", "id"),
        Index("ix_tickets_assignee", "assignee_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    requester_id: Mapped[str] = mapped_column(ID)
    category: Mapped[str | None] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(ID)
    assignee_id: Mapped[str | None] = mapped_column(ID)
    order_id: Mapped[str | None] = mapped_column(String(64))
    wallet_address: Mapped[str | None] = mapped_column(String(64))
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(80))
    merged_into_id: Mapped[str | None] = mapped_column(ID)
    merged_from_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, sorted
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)
    first_response_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    solved_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    closed_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    message_count: Mapped[int] = mapped_column(Integer)
    erased_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_ticket_seq: Mapped[int] = mapped_column(Integer)


class TicketTag(Base):
    """Projection: one row per tag of a ticket, for filtering."""

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tag", "tag"),)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)


class Message(Base):
    """Projection: a public reply or an internal note, from a ``message.added`` event."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket", "ticket_id", "seq"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[str | None] = mapped_column(ID)
    author_role: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of sha256 refs
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    #: The wallet that signed this message (EIP-712), None for an unsigned one.
    signed_by: Mapped[str | None] = mapped_column(String(42))


class Attachment(Base):
    """An uploaded file. Content lives in the blob store under its SHA-256."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[str | None] = mapped_column(ID, index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Session(Base):
    """A browser session; the cookie holds the token, the table its SHA-256."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    last_seen_at: Mapped[datetime | None] = mapped_column(TZ)
    #: False for a staff member who must still enrol a second factor: such a session may
    #: only reach the enrolment endpoints.
    mfa_ok: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(300))  # space-separated
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)


class IdempotencyKey(Base):
    """The first response to a create request, replayed when the same key comes again."""

    __tablename__ = "idempotency_keys"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)


# --- the ledger (see proofdesk.ledger) -------------------------------------------------------


class LedgerLeaf(Base):
    """The leaf record of event ``seq``: canonical JSON, hashed into the Merkle tree."""

    __tablename__ = "ledger_leaves"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    record: Mapped[str] = mapped_column(Text)


class MerkleNode(Base):
    """A complete subtree: leaves ``[idx * 2**level, (idx + 1) * 2**level)``."""

    __tablename__ = "merkle_nodes"
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TicketSecret(Base):
    """A ticket's secret, wrapped under the data key (see ``ledger.keys``). ``wrapped`` is
    None once the ticket is erased: its sealed content and commitments can never be opened."""

    __tablename__ = "ticket_secrets"
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Leaf hash of the ticket's latest event: the ``prev`` of its next one.
    chain_head: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    erased_at: Mapped[str | None] = mapped_column(TIME_TEXT)


class SignedCheckpoint(Base):
    """A checkpoint the log signed. The log never signs two inconsistent ones."""

    __tablename__ = "checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[str] = mapped_column(TIME_TEXT)


# --- the chain layer (see proofdesk.chain) ---------------------------------------------------


class ChainContract(Base):
    """A contract ProofDesk deployed (or was told to use) on one chain. A chain that was reset
    gets a new row for the same name; the latest ``id`` is the one in use."""

    __tablename__ = "chain_contracts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(42))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (Index("ix_chain_contracts_chain_name", "chain_id", "name"),)


class Anchor(Base):
    """One anchoring of a signed checkpoint: an outbox row first (the signed transaction is
    stored before it is broadcast, so a restart resubmits the same bytes), then its fate.

    ``status``: ``sent`` (broadcast or about to be), ``mined`` (in a block, not yet deep
    enough), ``confirmed``, ``failed`` (reverted or replaced; a new row retries), ``lost``
    (confirmed once, gone after a reorganisation or chain reset).
    """

    __tablename__ = "anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract: Mapped[str] = mapped_column(String(42))
    origin: Mapped[str] = mapped_column(Text)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str] = mapped_column(String(66))
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_time: Mapped[str | None] = mapped_column(TIME_TEXT)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)

    __table_args__ = (
        Index("ix_anchors_status", "status"),
        Index("ix_anchors_chain_size", "chain_id", "tree_size"),
    )


# --- identity (see proofdesk.identity) -------------------------------------------------------


class SiweNonce(Base):
    """A Sign-In with Ethereum nonce: issued for one organization, used at most once."""

    __tablename__ = "siwe_nonces"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ, index=True)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class Presence(Base):
    """Who has a ticket open in the agent console now, and when they last typed
    (``proofdesk.app.presence``); short-lived rows, no history."""

    __tablename__ = "presence"
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(TZ, index=True)
    typed_at: Mapped[datetime | None] = mapped_column(TZ)


class LoginLink(Base):
    """A sign-in link e-mailed to a customer: the SHA-256 of its token, used at most once."""

    __tablename__ = "login_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ, index=True)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class RecoveryCode(Base):
    """A one-time recovery code of a user's second factor (SHA-256 of it)."""

    __tablename__ = "recovery_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class KnownDevice(Base):
    """A browser a user logged in from (its device cookie's SHA-256). Log-ins from a known
    device skip the account lock, so that an attacker cannot lock the owner out."""

    __tablename__ = "known_devices"
    device_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    user_agent: Mapped[str] = mapped_column(String(300))
    first_seen_at: Mapped[datetime] = mapped_column(TZ)
    last_seen_at: Mapped[datetime] = mapped_column(TZ)


class SignedNonce(Base):
    """A (signer, nonce) of a signed submission already accepted: the same signature twice is
    a replay."""

    __tablename__ = "signed_nonces"
    signer: Mapped[str] = mapped_column(String(42), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(78), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(TZ)


# --- service contracts (see proofdesk.rules) --------------------------------------------


class ServiceContract(Base):
    """A contract an organization published, found by its content hash. At most one version
    of a name is active."""

    __tablename__ = "service_contracts"
    __table_args__ = (
        UniqueConstraint("organization_id", "name", "version", name="uq_service_contracts_version"),
        UniqueConstraint("organization_id", "contract_hash", name="uq_service_contracts_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_hash: Mapped[str] = mapped_column(String(71))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON
    source: Mapped[str] = mapped_column(Text)  # the YAML as published
    published_at: Mapped[datetime] = mapped_column(TZ)
    published_by: Mapped[str] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The ``contract.activated`` event (log entry) of its latest activation.
    activated_seq: Mapped[int | None] = mapped_column(BigInteger)


# --- automation and payouts (see proofdesk.workers.automation) ----------------------------------------


class Payout(Base):
    """Money a decision moves: a refund or warranty payout from the escrow contract (``escrow``)
    or reward tokens (``reward``). An outbox row, like :class:`Anchor`: the signed transaction
    is stored before it is broadcast, and ``claim_id`` (unique here, and paid at most once by
    the contract) makes the payment happen once whatever fails.

    ``status``: ``held`` (above a limit or missing something: a person approves), ``queued``,
    ``sent``, ``mined``, ``confirmed``, ``failed`` (will be retried by a person), ``rejected``.
    """

    __tablename__ = "payouts"
    __table_args__ = (
        Index("ix_payouts_status", "status"),
        Index("ix_payouts_ticket", "ticket_id"),
        Index("ix_payouts_customer", "customer_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[str] = mapped_column(ID)
    decision_seq: Mapped[int] = mapped_column(BigInteger)
    claim_id: Mapped[str] = mapped_column(String(66), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(ID)
    recipient: Mapped[str | None] = mapped_column(String(42))
    amount: Mapped[str] = mapped_column(String(80))  # decimal text, in whole coins/tokens
    amount_units: Mapped[str] = mapped_column(String(80))  # integer text, in wei
    status: Mapped[str] = mapped_column(String(16))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(ID)
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    contract: Mapped[str | None] = mapped_column(String(42))
    merchant: Mapped[str | None] = mapped_column(String(42))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_time: Mapped[str | None] = mapped_column(TIME_TEXT)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    #: The confirmed payment is in the ticket's timeline (a ``payout.changed`` event).
    recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)


class Cursor(Base):
    """How far a consumer of the event stream got: the last ``seq`` it handled."""

    __tablename__ = "cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


# --- SLA (see proofdesk.sla) -------------------------------------------------------------------


class SlaPolicy(Base):
    """Response and resolution targets for the tickets it matches; the first matching policy
    by ``position`` applies. ``kinds``, ``priorities`` and ``tiers`` are JSON lists (null:
    any); ``calendar`` is the business calendar's JSON (null: around the clock)."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_sla_policies_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    kinds: Mapped[str | None] = mapped_column(Text)
    priorities: Mapped[str | None] = mapped_column(Text)
    tiers: Mapped[str | None] = mapped_column(Text)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    periodic_update_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warn_before_minutes: Mapped[int] = mapped_column(Integer)
    #: On a breach, raise the ticket to this priority (null: leave it).
    escalate_to: Mapped[str | None] = mapped_column(String(16))
    calendar: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class TicketSla(Base):
    """Projection: a ticket's SLA timers under its policy, recomputed from its events.
    ``due_at`` is when the first running target breaches (or did), for sorting a queue."""

    __tablename__ = "ticket_sla"
    __table_args__ = (
        Index("ix_ticket_sla_org_due", "organization_id", "due_at"),
        Index("ix_ticket_sla_alert_at", "alert_at"),
    )
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    policy_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[str] = mapped_column(TIME_TEXT)
    warn_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    #: When the next warning or breach not yet in the stream falls due (the sweep's index).
    alert_at: Mapped[str] = mapped_column(TIME_TEXT)
    timers: Mapped[str] = mapped_column(Text)  # JSON
    #: Alerts already in the stream (``sla.warning``/``sla.breached`` keys), JSON list.
    alerted: Mapped[str] = mapped_column(Text, default="[]")


class Macro(Base):
    """A named set of actions an agent applies to a ticket in one click (the same actions as
    automation rules, and replies with their own text)."""

    __tablename__ = "macros"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_macros_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)  # JSON {"en", "zh-CN"}
    actions: Mapped[str] = mapped_column(Text)  # JSON list
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


# --- knowledge base (see proofdesk.assistant) ----------------------------------------------------


class KbArticle(Base):
    """A knowledge-base article or FAQ entry in one language; ``questions`` are the ways
    customers ask it (JSON list), ``intent`` what they want. Every change is a revision."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug", "locale", name="uq_kb_articles_slug_locale"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    questions: Mapped[str] = mapped_column(Text)  # JSON list
    tags: Mapped[str] = mapped_column(Text)  # JSON list
    intent: Mapped[str] = mapped_column(String(64))
    #: ``public`` (the assistant may answer with it) or ``agents`` (agents see it only).
    audience: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    updated_by: Mapped[str | None] = mapped_column(ID)


class KbRevision(Base):
    """One version of an article, as it was."""

    __tablename__ = "kb_revisions"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_kb_revisions_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # JSON of the article's fields
    author: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantTurn(Base):
    """One exchange with the assistant: what the customer wrote (secrets removed), what it
    answered or why it handed off, and the customer's feedback."""

    __tablename__ = "assistant_turns"
    __table_args__ = (Index("ix_assistant_turns_conversation", "conversation_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ID)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ID)
    text: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))  # answer or handoff
    reason: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    article: Mapped[str | None] = mapped_column(String(120))  # slug.locale
    reply: Mapped[str] = mapped_column(Text)
    #: True (helped), False (did not: a hand-off), None (not said).
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    ticket_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantExample(Base):
    """A labelled example the assistant learns from beyond the knowledge base: an agent's label
    on a solved ticket (a tag naming an intent), or an imported one."""

    __tablename__ = "assistant_examples"
    __table_args__ = (
        UniqueConstraint("organization_id", "text", name="uq_assistant_examples_text"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(64))
    #: The solved ticket it came from, or None for an imported example.
    ticket_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class AssistantVector(Base):
    """The sentence embedding of a text the organization's model trains on or searches (an
    article, an example), by the text's SHA-256: a rebuilt model encodes only new texts."""

    __tablename__ = "assistant_vectors"
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: float32 little-endian, the model's dimension long.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TZ)
