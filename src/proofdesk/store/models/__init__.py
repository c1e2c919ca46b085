"""Tables, one module per part of the product, all re-exported here so that
``from proofdesk.store.models import Ticket`` names any of them. ``ticket_events`` is the source
of truth; ``tickets``, ``ticket_tags`` and ``messages`` are projections of it that
``proofdesk rebuild`` can drop and recompute.

The modules are imported in the order their tables were first declared, so that the metadata
lists the tables in the same order as before the split.
"""

# Not sorted: this is the order of the tables in the metadata, as before the split.
# isort: off
from proofdesk.store.models.base import ID, NAMING, TIME_TEXT, TZ, Base, new_id
from proofdesk.store.models.tenancy import (
    CustomerNote,
    Order,
    Organization,
    Team,
    TeamMember,
    User,
    Wallet,
)
from proofdesk.store.models.tickets import (
    Attachment,
    LogHead,
    Message,
    SearchTerm,
    Ticket,
    TicketEvent,
    TicketTag,
)
from proofdesk.store.models.sessions import ApiToken, IdempotencyKey, Session
from proofdesk.store.models.ledger import LedgerLeaf, MerkleNode, SignedCheckpoint, TicketSecret
from proofdesk.store.models.chain import (
    Anchor,
    ChainContract,
    ChainFiling,
    ChainRequestDraft,
    ChainScan,
)
from proofdesk.store.models.identity import (
    KnownDevice,
    LoginLink,
    Presence,
    RecoveryCode,
    SignedNonce,
    SiweNonce,
)
from proofdesk.store.models.rules import Cursor, Payout, ServiceContract
from proofdesk.store.models.sla import Macro, SlaPolicy, TicketSla
from proofdesk.store.models.assistant import (
    AssistantExample,
    AssistantTurn,
    AssistantModel,
    AssistantVector,
    KbArticle,
    KbRevision,
)
from proofdesk.store.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from proofdesk.store.models.mail import (
    MailAddressState,
    MailImport,
    Mailbox,
    MailNotificationPrefs,
    MailOutbox,
)
from proofdesk.store.models.consortium import (
    CheckpointCosignature,
    LogWitness,
    MonitoredLog,
    SplitViewEvidence,
    WitnessAlert,
    WitnessedLog,
    WitnessRefusal,
)
from proofdesk.store.models.imports import ImportedRecord
from proofdesk.store.models.transfers import Transfer, TransferAgreement, TransferUpdate
from proofdesk.store.models.telegram import (
    TelegramBot,
    TelegramChat,
    TelegramOutbox,
    TelegramUpdate,
)
from proofdesk.store.models.reads import TicketRead
from proofdesk.store.models.community import CommunityPost, CommunityReport, CommunityVote
from proofdesk.store.models.rewards import RewardEpoch, RewardGrant, RewardLeaf, RewardPolicy
# isort: on

__all__ = [
    "ID",
    "NAMING",
    "TIME_TEXT",
    "TZ",
    "Anchor",
    "ApiToken",
    "AssistantExample",
    "AssistantModel",
    "AssistantTurn",
    "AssistantVector",
    "Attachment",
    "Base",
    "ChainContract",
    "ChainFiling",
    "ChainRequestDraft",
    "ChainScan",
    "CheckpointCosignature",
    "CommunityPost",
    "CommunityReport",
    "CommunityVote",
    "Cursor",
    "CustomerNote",
    "IdempotencyKey",
    "ImportedRecord",
    "KbArticle",
    "KbRevision",
    "KnownDevice",
    "LedgerLeaf",
    "LogHead",
    "LogWitness",
    "LoginLink",
    "Macro",
    "MailAddressState",
    "MailImport",
    "MailNotificationPrefs",
    "MailOutbox",
    "Mailbox",
    "MerkleNode",
    "Message",
    "MonitoredLog",
    "Order",
    "Organization",
    "Payout",
    "Presence",
    "RecoveryCode",
    "RewardEpoch",
    "RewardGrant",
    "RewardLeaf",
    "RewardPolicy",
    "SearchTerm",
    "ServiceContract",
    "Session",
    "SignedCheckpoint",
    "SignedNonce",
    "SiweNonce",
    "SlaPolicy",
    "SplitViewEvidence",
    "Team",
    "TeamMember",
    "TelegramBot",
    "TelegramChat",
    "TelegramOutbox",
    "TelegramUpdate",
    "Ticket",
    "TicketEvent",
    "TicketRead",
    "TicketSecret",
    "TicketSla",
    "TicketTag",
    "Transfer",
    "TransferAgreement",
    "TransferUpdate",
    "User",
    "Wallet",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WitnessAlert",
    "WitnessRefusal",
    "WitnessedLog",
    "new_id",
]
