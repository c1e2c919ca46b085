"""A conversation turn with the assistant: understand, answer with sources — or hand off to a
person with the context gathered.

Each turn: secrets are removed first (``redaction``); entities are extracted and EVM
transactions looked up on the configured chain; the organization's model (its knowledge base)
decides. An answer cites its article and asks whether it helped. A hand-off — the customer asked
for a person, an always-human intent, low confidence, nothing public to answer with, or a "no"
to "did this help?" — opens a chat ticket with the transcript, tags it with the intent, adds an
internal note for the agents (intent, confidence, entities, what the chain said, a suggested
reply), and tells the customer what happens next and when to expect a person.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions import tickets
from proofdesk.actions.sla_timers import policy_for
from proofdesk.assistant import kb, training
from proofdesk.assistant.embedding import Embedder, StoredVectors, default_embedder
from proofdesk.assistant.handoff_note import handoff_note
from proofdesk.assistant.lookup import TxReport, answer_transactions, describe
from proofdesk.assistant.understanding import Model, OpenSet, Reply, Thresholds, looks_chinese
from proofdesk.canonical import utc_now
from proofdesk.chain.base import Chain
from proofdesk.domain.entities import Entity, extract
from proofdesk.domain.identifiers import row_id
from proofdesk.domain.redaction import SECRET_WARNING, redact
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, Kind, Visibility
from proofdesk.errors import Forbidden, InvalidInput, NotFound
from proofdesk.i18n import N_, translate
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import (
    AssistantExample,
    AssistantModel,
    AssistantTurn,
    KbArticle,
    Ticket,
    User,
)

MAX_TEXT = 4000
#: Answers in one conversation that nobody said helped, after which a person takes over.
MAX_UNCONFIRMED_ANSWERS = 2
#: The ticket kind a hand-off opens, by intent.
KIND_OF_INTENT = {
    "refund": Kind.REFUND_REQUEST,
    "large_refund": Kind.REFUND_REQUEST,
    "hardware_warranty": Kind.WARRANTY_CLAIM,
    "deposit_not_credited": Kind.TRANSACTION_PROBLEM,
    "withdrawal_pending": Kind.TRANSACTION_PROBLEM,
    "wrong_network": Kind.TRANSACTION_PROBLEM,
    "missing_memo": Kind.TRANSACTION_PROBLEM,
    "hacked_account": Kind.COMPLAINT,
    "fraud_report": Kind.COMPLAINT,
    "legal_complaint": Kind.COMPLAINT,
}

# What the assistant says around its answers and hand-offs (the catalog has their Chinese).
HELPED = N_("Did this answer your question?")
SOURCE = N_("Source")
HANDOFF = N_(
    "I have passed your request to our team (request #{number}); a person will reply "
    "here{when}. You can add details or files to the request meanwhile."
)
WITHIN = N_(" within {time}")
HOURS = N_("{n} hour(s)")
MINUTES = N_("{n} minutes")
BUSINESS_HOURS = N_(" (business hours)")
ASK_CONTACT = N_(
    "A person will take over. So that they can reach you, please leave your e-mail address "
    "or your wallet address below."
)

#: The owner of a shop visitor's conversation before they leave an e-mail or a wallet
#: (``assistant.guests``): the conversation's random id is its only key.
GUEST = "guest"


class Models:
    """Each organization's model. A model is built from the knowledge base and the examples
    and stored (``assistant_models``) with the stamp of what it was built from; the sentence
    vectors of its texts are stored too (``embedding.StoredVectors``), so a rebuild encodes
    only new or edited texts. A process that starts loads the stored model instead of training.

    With ``background`` (the server, where the ``assistant`` worker runs), a change to the
    knowledge base or the examples does not make a request wait: requests keep the last model
    until the worker has built and stored the new one (``refresh``), which then replaces it in
    one assignment. Without it (the CLI, tests), ``of`` rebuilds on the spot. Never call from
    inside a write transaction: a rebuild writes in its own."""

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        embedder: Embedder | None = None,
        *,
        background: bool = False,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.embedder = embedder
        self.background = background
        self._lock = threading.Lock()
        self._building = threading.Lock()
        self._models: dict[str, tuple[str, Model]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, background: bool = False) -> Models:
        return cls(
            Thresholds(
                settings.assistant_threshold,
                settings.assistant_margin,
                settings.assistant_large_refund,
            ),
            default_embedder() if settings.assistant_embeddings else None,
            background=background,
        )

    @property
    def encoder(self) -> str:
        return self.embedder.name if self.embedder is not None else "none"

    def estimate(self, organization_id: str) -> OpenSet | None:
        """How often the organization's current model answers by itself and how often
        rightly, as cross-validated on its own examples (None before its first build or with
        too few examples); never builds a model."""
        with self._lock:
            cached = self._models.get(organization_id)
        return cached[1].open_set if cached is not None else None

    def of(self, db: Database, organization_id: str) -> Model:
        with db.reader() as session:
            stamp = _stamp(session, organization_id)
        with self._lock:
            cached = self._models.get(organization_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if cached is not None and self.background and self._built(db, organization_id) != stamp:
            return cached[1]  # the last model, while the worker builds the new one
        stored = self._load(db, organization_id)
        if stored is not None and (stored[0] == stamp or self.background):
            # Built by the worker (of this process or another), or by an earlier process.
            with self._lock:
                self._models[organization_id] = stored
            return stored[1]
        return self.refresh(db, organization_id)

    def _built(self, db: Database, organization_id: str) -> str | None:
        with db.reader() as session:
            return session.scalar(
                select(AssistantModel.stamp).where(
                    AssistantModel.organization_id == organization_id,
                    AssistantModel.encoder == self.encoder,
                )
            )

    def stale(self, db: Database, organization_id: str) -> bool:
        """Whether the stored model (if any) was built from another knowledge base."""
        with db.reader() as session:
            stamp = _stamp(session, organization_id)
        return self._built(db, organization_id) != stamp

    def refresh(self, db: Database, organization_id: str) -> Model:
        """Build the organization's model from what is there now, store it, and make it the
        one requests get. One build at a time per process."""
        with self._building:
            with db.reader() as session:
                stamp = _stamp(session, organization_id)
                with self._lock:
                    cached = self._models.get(organization_id)
                if cached is not None and cached[0] == stamp:
                    return cached[1]  # another thread built it meanwhile
                specs = [kb.to_spec(row) for row in kb.articles(session, organization_id)]
                examples = training.examples(session, organization_id)
            if len({s.intent for s in specs}) < 2:
                raise NotFound(
                    "this organization has no knowledge base yet", code="no_knowledge_base"
                )
            vectors = (
                StoredVectors(db, organization_id, self.embedder).encode
                if self.embedder is not None
                else None
            )
            model = Model.from_articles(specs, examples, embedder=self.embedder, stored=vectors)
            blob = model.to_bytes()
            try:
                with db.writer() as session:
                    # Re-checked under the lock: a model of a knowledge base that changed
                    # while it was built is not stored (the next step builds the new one),
                    # so an older build never replaces a newer one.
                    current = _stamp(session, organization_id) == stamp
                    row = session.get(AssistantModel, (organization_id, self.encoder))
                    if not current:
                        pass
                    elif row is None:
                        session.add(
                            AssistantModel(
                                organization_id=organization_id,
                                encoder=self.encoder,
                                stamp=stamp,
                                blob=blob,
                                built_at=utc_now(),
                            )
                        )
                    elif row.stamp != stamp:
                        row.stamp, row.blob, row.built_at = stamp, blob, utc_now()
            except IntegrityError:
                pass  # another process stored the same model first
            with self._lock:
                self._models[organization_id] = (stamp, model)
            return model

    def _load(self, db: Database, organization_id: str) -> tuple[str, Model] | None:
        with db.reader() as session:
            row = session.execute(
                select(AssistantModel.stamp, AssistantModel.blob).where(
                    AssistantModel.organization_id == organization_id,
                    AssistantModel.encoder == self.encoder,
                )
            ).first()
        if row is None:
            return None
        try:
            return row[0], Model.from_bytes(row[1], self.embedder)
        except InvalidInput:
            return None  # unreadable (an older format): built again


def _stamp(session: Session, organization_id: str) -> str:
    """What the model is built from, in one string: the articles' count, latest change and
    versions, the examples' count and latest id."""
    parts = (
        *session.execute(
            select(
                func.count(KbArticle.id),
                func.max(KbArticle.updated_at),
                func.sum(KbArticle.version),
            ).where(KbArticle.organization_id == organization_id)
        ).one(),
        *session.execute(
            select(func.count(AssistantExample.id), func.max(AssistantExample.id)).where(
                AssistantExample.organization_id == organization_id
            )
        ).one(),
    )
    return json.dumps([str(p) if p is not None else None for p in parts])


@dataclass
class TurnResult:
    turn: AssistantTurn
    reply: Reply
    text: str
    entities: list[Entity] = field(default_factory=list)
    transactions: list[TxReport] = field(default_factory=list)
    ticket: Ticket | None = None


def _locale(text_: str, asked: str | None, customer: User | None, started: str | None) -> str:
    """The conversation's one language: the one its first turn chose (so that an English
    question after a Chinese one does not switch the answers and buttons midway), else the one
    asked for, else the first message's, else the customer's."""
    if started in ("en", "zh-CN"):
        return started
    if asked in ("en", "zh-CN"):
        return asked
    if looks_chinese(text_):
        return "zh-CN"
    if customer is not None and customer.locale in ("en", "zh-CN"):
        return customer.locale
    return "en"


def _started_in(session: Session, conversation_id: str | None) -> str | None:
    if conversation_id is None:
        return None
    return session.scalar(
        select(AssistantTurn.locale)
        .where(AssistantTurn.conversation_id == conversation_id)
        .order_by(AssistantTurn.id)
        .limit(1)
    )


def take_turn(
    db: Database,
    models: Models,
    actor: Actor,
    message: str,
    *,
    conversation_id: str | None = None,
    locale: str | None = None,
    chain: Chain | None = None,
    settings: Settings | None = None,
    channel: Channel = Channel.CHAT,
    channel_ids: dict[str, str] | None = None,
) -> TurnResult:
    """One turn; transactions in ``message`` are looked up on ``chain`` and, with ``settings``,
    on the other networks that have an endpoint. A :data:`GUEST` actor (a shop visitor without
    an account) is answered the same way, but a hand-off asks for a way to reach them instead
    of opening a request (``assistant.guests.hand_off_guest`` opens it). A hand-off's ticket
    and messages record ``channel`` and the channel's ids of this message (the widget's chat,
    Telegram…)."""
    if not actor.is_customer:
        raise Forbidden("the assistant talks with customers", code="not_a_customer")
    if not isinstance(message, str) or not message.strip() or len(message) > MAX_TEXT:
        raise InvalidInput(f"text must be 1-{MAX_TEXT} characters", field="text")
    if conversation_id is not None:
        try:
            conversation_id = str(uuid.UUID(conversation_id))
        except ValueError:
            raise InvalidInput("conversation_id is a UUID", field="conversation_id") from None
    cleaned = redact(message.strip())
    entities = extract(cleaned.text)
    transactions = answer_transactions(cleaned.text, chain, settings)
    with db.reader() as session:
        guest = actor.user_id == GUEST
        customer = None if guest else session.get(User, actor.user_id)
        if customer is None and not guest:
            raise NotFound("no such user")
        lang = _locale(cleaned.text, locale, customer, _started_in(session, conversation_id))
        unconfirmed = (
            _unconfirmed_answers(session, actor, conversation_id)
            if conversation_id is not None
            else 0
        )
    try:
        model: Model | None = models.of(db, actor.organization_id)
    except NotFound:  # no knowledge base yet: every question goes to a person
        model = None
    reply = (
        model.respond(cleaned.text, lang, models.thresholds)
        if model is not None
        else Reply("handoff", "no_knowledge_base", None, 0.0, 0.0)
    )
    if reply.kind == "answer" and unconfirmed >= MAX_UNCONFIRMED_ANSWERS:
        # Two answers already and the customer is still asking: a person takes over.
        reply = Reply(
            "handoff",
            "repeated",
            reply.intent,
            reply.confidence,
            reply.margin,
            None,
            reply.candidates,
        )
    parts = [translate(lang, SECRET_WARNING)] if cleaned.changed else []
    parts += [describe(report, lang) for report in transactions]
    with db.writer() as session:
        turn = AssistantTurn(
            conversation_id=conversation_id or str(uuid.uuid4()),
            organization_id=actor.organization_id,
            customer_id=actor.user_id,
            text=cleaned.text,
            locale=lang,
            kind=reply.kind,
            reason=reply.reason,
            intent=reply.intent,
            confidence=reply.confidence,
            article=f"{reply.article.slug}.{reply.article.locale}" if reply.article else None,
            reply="",
            created_at=utc_now(),
        )
        session.add(turn)
        session.flush()
        ticket = None
        if reply.kind == "answer" and reply.article is not None:
            parts += [
                f"{reply.article.title}\n\n{reply.article.body}",
                f"{translate(lang, SOURCE)}: {reply.article.title}",
                translate(lang, HELPED),
            ]
        elif guest:
            parts.append(translate(lang, ASK_CONTACT))
        else:
            ticket = _hand_off(
                session,
                actor,
                turn,
                model,
                reply,
                entities,
                transactions,
                models.thresholds.threshold,
                channel,
                channel_ids,
            )
            parts.append(_next_steps(session, ticket, lang))
        turn.reply = "\n\n".join(parts)
        session.flush()
        session.expunge(turn)
        if ticket is not None:
            session.expunge(ticket)
    return TurnResult(turn, reply, turn.reply, entities, transactions, ticket)


def _unconfirmed_answers(session: Session, actor: Actor, conversation_id: str) -> int:
    """How many answers of the conversation nobody said helped (the conversation must be the
    customer's own)."""
    rows = session.execute(
        select(AssistantTurn.customer_id, AssistantTurn.kind, AssistantTurn.helpful).where(
            AssistantTurn.conversation_id == conversation_id
        )
    ).all()
    if any(owner != actor.user_id for owner, _, _ in rows):
        raise NotFound("no such conversation", code="no_such_conversation")
    return sum(1 for _, kind, helpful in rows if kind == "answer" and helpful is not True)


def feedback(
    db: Database,
    models: Models,
    actor: Actor,
    turn_id: str,
    helpful: bool,
    *,
    channel: Channel = Channel.CHAT,
    channel_ids: dict[str, str] | None = None,
) -> TurnResult | None:
    """Record whether an answer helped; a "no" hands the conversation to a person (returned)."""
    if not actor.is_customer:
        raise Forbidden("the assistant talks with customers", code="not_a_customer")
    try:
        model: Model | None = models.of(db, actor.organization_id)
    except NotFound:
        model = None
    with db.writer() as session:
        number = row_id(turn_id)
        turn = session.get(AssistantTurn, number) if number is not None else None
        if turn is None or turn.customer_id != actor.user_id:
            raise NotFound("no such turn")
        if turn.kind != "answer":
            raise InvalidInput("only answers ask whether they helped", code="not_an_answer")
        turn.helpful = helpful
        if helpful or turn.ticket_id is not None:
            return None
        reply = Reply("handoff", "unhelpful", turn.intent, turn.confidence, 0.0)
        if actor.user_id == GUEST:  # a person takes over once the visitor says how to reach them
            session.flush()
            session.expunge(turn)
            return TurnResult(turn, reply, translate(turn.locale, ASK_CONTACT))
        entities = extract(turn.text)
        ticket = _hand_off(
            session,
            actor,
            turn,
            model,
            reply,
            entities,
            [],
            models.thresholds.threshold,
            channel,
            channel_ids,
        )
        message = _next_steps(session, ticket, turn.locale)
        session.flush()
        session.expunge(turn)
        session.expunge(ticket)
    return TurnResult(turn, reply, message, entities, [], ticket)


def _hand_off(
    session: Session,
    actor: Actor,
    turn: AssistantTurn,
    model: Model | None,
    reply: Reply,
    entities: list[Entity],
    transactions: list[TxReport],
    threshold: float,
    channel: Channel = Channel.CHAT,
    channel_ids: dict[str, str] | None = None,
) -> Ticket:
    """Open (or reuse) the conversation's ticket with the transcript and a note for agents."""
    previous = session.scalar(
        select(AssistantTurn.ticket_id).where(
            AssistantTurn.conversation_id == turn.conversation_id,
            AssistantTurn.ticket_id.is_not(None),
        )
    )
    automation = Actor("automation", actor.organization_id, Role.AUTOMATION)
    # The intent names the ticket's kind and a tag only when the model was sure of it.
    intent = reply.intent if reply.confidence >= threshold else None
    if previous is not None:
        ticket = session.get(Ticket, previous)
        assert ticket is not None
        tickets.do_add_message(
            session, actor, ticket, body=turn.text, channel=channel, channel_ids=channel_ids
        )
    else:
        # Opened as the customer's own request (so that service contracts decide it like any
        # other), then tagged by the assistant.
        state = tickets.do_create_ticket(
            session,
            actor,
            tickets.NewTicket(
                kind=KIND_OF_INTENT.get(intent or "", Kind.QUESTION),
                subject=_subject(session, turn),
                body=_transcript(session, turn),
                channel=channel,
                channel_ids=dict(channel_ids or {}),
            ),
        )
        ticket = session.get(Ticket, state.id)
        assert ticket is not None
        tags = ["assistant-handoff"] + (
            [reply.intent.replace("_", "-")[:40]] if reply.intent else []
        )
        tickets.do_change_tags(
            session, automation, ticket, add=tags, remove=[], by={"assistant": reply.reason}
        )
    suggestion = (
        model.article_for(reply.intent, turn.locale) if model is not None and reply.intent else None
    )
    similar = model.search(turn.text, k=3, audience="agents") if model is not None else []
    # Agents of a bilingual desk read either language: the summary in both, the conversation's
    # own first.
    body = "\n\n".join(
        handoff_note(
            lang,
            reason=reply.reason,
            asked=_subject(session, turn),
            intent=reply.intent,
            confidence=reply.confidence,
            entities=entities,
            transactions=transactions,
            suggestion=(
                model.article_for(reply.intent, lang)
                if model is not None and reply.intent
                else None
            ),
            related=similar,
        )
        for lang in sorted(("en", "zh-CN"), key=lambda lang: lang != turn.locale)
    )
    if suggestion is not None:
        body += "\n\n" + suggestion.body
    tickets.do_add_message(
        session,
        automation,
        ticket,
        body=body[: tickets.MAX_BODY],
        visibility=Visibility.INTERNAL,
        by={"assistant": reply.reason},
    )
    session.query(AssistantTurn).filter(
        AssistantTurn.conversation_id == turn.conversation_id
    ).update({AssistantTurn.ticket_id: ticket.id})
    return ticket


def _subject(session: Session, turn: AssistantTurn) -> str:
    """The conversation's first question (not "转人工", when that is what handed it off)."""
    first = session.scalar(
        select(AssistantTurn.text)
        .where(AssistantTurn.conversation_id == turn.conversation_id)
        .order_by(AssistantTurn.id)
        .limit(1)
    )
    lines = (first or turn.text).strip().splitlines()
    return (lines[0][:120] if lines else "") or "Chat"


def _transcript(session: Session, turn: AssistantTurn) -> str:
    rows = session.scalars(
        select(AssistantTurn)
        .where(AssistantTurn.conversation_id == turn.conversation_id)
        .order_by(AssistantTurn.id)
    ).all()
    lines = []
    for row in rows:
        lines.append(f"Customer / 客户: {row.text}")
        if row.reply:
            lines.append(f"Assistant / 助手: {row.reply}")
    return "\n\n".join(lines)[: tickets.MAX_BODY]


def _next_steps(session: Session, ticket: Ticket, lang: str) -> str:
    """What happens next, with the first-response target of the ticket's SLA policy."""
    policy = policy_for(session, ticket)
    when = ""
    if policy is not None and policy.first_response_minutes:
        minutes = policy.first_response_minutes
        amount = (
            translate(lang, HOURS, n=minutes // 60)
            if minutes % 60 == 0
            else translate(lang, MINUTES, n=minutes)
        )
        if policy.calendar:
            amount += translate(lang, BUSINESS_HOURS)
        when = translate(lang, WITHIN, time=amount)
    return translate(lang, HANDOFF, number=ticket.number, when=when)
