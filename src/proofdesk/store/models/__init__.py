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
from proofdesk.store.models.tenancy import Order, Organization, Team, TeamMember, User, Wallet
from proofdesk.store.models.tickets import (
    Attachment,
    LogHead,
    Message,
    Ticket,
    TicketEvent,
    TicketTag,
)
from proofdesk.store.models.sessions import ApiToken, IdempotencyKey, Session
from proofdesk.store.models.ledger import LedgerLeaf, MerkleNode, SignedCheckpoint, TicketSecret
from proofdesk.store.models.chain import Anchor, ChainContract
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
    "Cursor",
    "IdempotencyKey",
    "KbArticle",
    "KbRevision",
    "KnownDevice",
    "LedgerLeaf",
    "LogHead",
    "LoginLink",
    "Macro",
    "MerkleNode",
    "Message",
    "Order",
    "Organization",
    "Payout",
    "Presence",
    "RecoveryCode",
    "ServiceContract",
    "Session",
    "SignedCheckpoint",
    "SignedNonce",
    "SiweNonce",
    "SlaPolicy",
    "Team",
    "TeamMember",
    "Ticket",
    "TicketEvent",
    "TicketSecret",
    "TicketSla",
    "TicketTag",
    "User",
    "Wallet",
    "new_id",
]
