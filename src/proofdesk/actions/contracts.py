"""Publishing and activating service contracts, and deciding a ticket's claim by one."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_contract, require_admin, require_worker
from proofdesk.actions import payouts, tickets
from proofdesk.canonical import canonical_json, format_time, utc_now
from proofdesk.chain.base import Chain
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import EventType, Priority, Status, TicketState, Visibility
from proofdesk.errors import Conflict, Error, InvalidInput, InvalidTransition, NotFound
from proofdesk.facts.providers import FactContext, Gathered, gather, is_supplied
from proofdesk.i18n import translate
from proofdesk.ledger.store import EventReader
from proofdesk.rules import templates
from proofdesk.rules.document import Contract, parse
from proofdesk.rules.engine import (
    Decision,
    Firing,
    decide,
    decode_facts,
    encode_facts,
    replay,
)
from proofdesk.settings import Settings
from proofdesk.store.events import EventAppender
from proofdesk.store.models import (
    LogHead,
    Payout,
    ServiceContract,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from proofdesk.store.rows import row_to_state


def do_publish(session: Session, actor: Actor, source: str) -> tuple[ServiceContract, bool]:
    """Check and store a contract (not yet active); returns the row and whether it is new.
    Publishing the same document again is a no-op; another document under a published
    name and version is a conflict (publish a new version)."""
    require_admin(actor)
    contract = parse(source)
    same = session.scalars(
        select(ServiceContract).where(
            ServiceContract.organization_id == actor.organization_id,
            ServiceContract.contract_hash == contract.contract_hash,
        )
    ).first()
    if same is not None:
        return same, False
    taken = session.scalars(
        select(ServiceContract.id).where(
            ServiceContract.organization_id == actor.organization_id,
            ServiceContract.name == contract.name,
            ServiceContract.version == contract.version,
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"{contract.name} version {contract.version} is published with other content; "
            "publish it as a new version",
            code="version_exists",
        )
    row = ServiceContract(
        contract_hash=contract.contract_hash,
        organization_id=actor.organization_id,
        name=contract.name,
        version=contract.version,
        document=canonical_json(contract.document).decode(),
        source=source,
        published_at=utc_now(),
        published_by=actor.user_id,
        active=False,
    )
    session.add(row)
    session.flush()
    return row, True


def load(row: ServiceContract) -> Contract:
    return Contract(json.loads(row.document), row.contract_hash)


def load_id(session: Session, row_id: int) -> Contract:
    row = session.get(ServiceContract, row_id)
    if row is None:
        raise NotFound("no such contract")
    return load(row)


def do_activate(session: Session, actor: Actor, contract_hash: str) -> ServiceContract:
    """Make this version the active one of its name (the others of the name stop), by a
    ``contract.activated`` event in the organization's stream — an entry of the transparency
    log, so when each version governed is provable. Activating the active version is a
    no-op."""
    require_admin(actor)
    row = access_contract(session, actor.organization_id, contract_hash)
    if row.active:
        return row
    replaced = list(
        session.scalars(
            select(ServiceContract.contract_hash).where(
                ServiceContract.organization_id == actor.organization_id,
                ServiceContract.name == row.name,
                ServiceContract.active,
            )
        )
    )
    session.execute(
        update(ServiceContract)
        .where(
            ServiceContract.organization_id == actor.organization_id,
            ServiceContract.name == row.name,
            ServiceContract.id != row.id,
        )
        .values(active=False)
    )
    now = utc_now()
    event = EventAppender(session).append_organization(
        organization_id=actor.organization_id,
        type=EventType.CONTRACT_ACTIVATED,
        actor_id=actor.user_id,
        occurred_at=format_time(now),
        payload={
            "contract_hash": row.contract_hash,
            "kind": load(row).kind,
            "name": row.name,
            "version": row.version,
            "replaces": replaced,
        },
    )
    row.active, row.activated_at, row.activated_seq = True, now, event.seq
    return row


log = logging.getLogger(__name__)

#: When a contract decides, unless it says (``spec.decideOn``).
DEFAULT_TRIGGERS = ("created", "updated")
AUTOMATION_ID = "automation"


def automation_actor(organization_id: str) -> Actor:
    return Actor(AUTOMATION_ID, organization_id, Role.AUTOMATION)


def active(
    session: Session, organization_id: str, document_kind: str, kind: str, trigger: str | None
) -> list[tuple[ServiceContract, Contract]]:
    """The organization's active documents of one kind (``ServiceContract`` or ``Automation``)
    for a ticket kind and trigger, by name."""
    rows = session.scalars(
        select(ServiceContract)
        .where(ServiceContract.organization_id == organization_id, ServiceContract.active)
        .order_by(ServiceContract.name)
    ).all()
    out = []
    for row in rows:
        contract = load(row)
        if contract.kind != document_kind or kind not in contract.spec["appliesTo"]:
            continue
        listed = (
            contract.spec.get("decideOn", DEFAULT_TRIGGERS)
            if document_kind == "ServiceContract"
            else contract.spec["triggers"]
        )
        if trigger is not None and trigger not in listed:
            continue
        out.append((row, contract))
    return out


def applicable(
    session: Session, organization_id: str, kind: str, trigger: str | None = None
) -> list[tuple[ServiceContract, Contract]]:
    """The organization's active service contracts for a ticket kind (and trigger)."""
    return active(session, organization_id, "ServiceContract", kind, trigger)


def check_supplied(contract: Contract, supplied: dict[str, Any]) -> dict[str, Any]:
    """Facts a person states (``claim.*`` the contract declares), typed; others are refused:
    what a provider knows is never taken from a request."""
    for name in supplied:
        if name not in contract.facts:
            raise InvalidInput(
                f"fact {name!r} is not declared by the contract", code="unknown_fact", field=name
            )
        if not is_supplied(name):
            raise InvalidInput(
                f"fact {name!r} comes from its provider and cannot be supplied",
                code="fact_not_supplied",
                field=name,
            )
    return decode_facts(contract, supplied)


def do_log_decision(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    contract: Contract,
    gathered: Gathered,
    *,
    trigger: str,
) -> tuple[Decision, int, TicketState]:
    """Decide and log a ``contract.decided`` event: the contract, the facts with their sources
    and, for each fact not known, why."""
    decision = decide(contract, gathered.values)
    event, state = EventAppender(session).append(
        row_to_state(ticket),
        ticket_id=ticket.id,
        organization_id=ticket.organization_id,
        type=EventType.DECIDED,
        actor_id=actor.user_id,
        occurred_at=format_time(utc_now()),
        payload={
            "contract_hash": contract.contract_hash,
            "contract": contract.name,
            "contract_version": contract.version,
            "trigger": trigger,
            "facts": encode_facts(contract, gathered.values),
            "sources": dict(sorted(gathered.sources.items())),
            "unknown": dict(sorted(gathered.unknown.items())),
            "outcome": decision.outcome,
            "decision": json.loads(canonical_json(decision.as_dict())),
        },
    )
    return decision, event.seq, state


def prepare_decision(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    contract_hash: str,
    supplied: dict[str, Any],
    *,
    chain: Chain | None = None,
    settings: Settings | None = None,
) -> tuple[int, Gathered]:
    """First half of a decision a person asks for, in a read transaction (providers may ask
    the chain, which must not happen while the write lock is held): check the request and
    gather the facts. Returns the contract's row id and the facts."""
    require_worker(actor)
    row = access_contract(session, ticket.organization_id, contract_hash)
    if not row.active:
        raise Conflict("this contract version is not active", code="contract_inactive")
    return row.id, _gather(session, actor, load(row), ticket, supplied, chain, settings)


def _gather(
    session: Session,
    actor: Actor,
    contract: Contract,
    ticket: Ticket,
    supplied: dict[str, Any],
    chain: Chain | None,
    settings: Settings | None = None,
) -> Gathered:
    """The facts for deciding ``ticket`` by ``contract``: the stated ``claim.*`` ones checked,
    the rest from their providers now."""
    if contract.kind != "ServiceContract":
        raise InvalidInput(f"{contract.name} is not a service contract", code="not_applicable")
    if ticket.kind not in contract.spec["appliesTo"]:
        raise InvalidInput(
            f"{contract.name} does not apply to {ticket.kind} tickets", code="not_applicable"
        )
    typed = check_supplied(contract, supplied)
    context = FactContext(session, row_to_state(ticket), utc_now(), chain, settings=settings)
    return gather(context, contract.facts, typed, actor.user_id)


@dataclass(frozen=True)
class DryRun:
    """A decision made and not logged: what the contract would decide for the ticket now."""

    contract: Contract
    gathered: Gathered
    decision: Decision

    def facts(self) -> dict[str, Any]:
        return encode_facts(self.contract, self.gathered.values)


def dry_run(
    session: Session,
    actor: Actor,
    source: str,
    ticket: Ticket,
    supplied: dict[str, Any],
    *,
    chain: Chain | None = None,
    settings: Settings | None = None,
) -> DryRun:
    """Decide ``ticket``'s claim by a contract's source — published or not, active or not —
    with the facts its providers give now, and change nothing: no event, no action, no
    payout. The editor's dry run, for a read transaction (providers may ask the chain)."""
    require_admin(actor)
    contract = parse(source)
    gathered = _gather(session, actor, contract, ticket, supplied, chain, settings)
    return DryRun(contract, gathered, decide(contract, gathered.values))


def do_decide(
    session: Session, actor: Actor, ticket: Ticket, contract_id: int, gathered: Gathered
) -> Decision:
    """Second half, in the write transaction: decide, log the decision and carry out its
    actions (attributed to the rule; a claim is paid at most once whatever is asked)."""
    require_worker(actor)
    if ticket.status == Status.CLOSED.value or ticket.erased_at is not None:
        raise InvalidTransition("a closed ticket's claim is not decided again")
    row = session.get(ServiceContract, contract_id)
    if row is None or not row.active:
        raise Conflict("this contract version is not active", code="contract_inactive")
    contract = load(row)
    decision, seq, _ = do_log_decision(
        session, actor, ticket, contract, gathered, trigger="request"
    )
    do_carry_out(session, ticket, contract, decision, seq, gathered)
    return decision


def _customer_locale(session: Session, state: TicketState) -> str:
    user = session.get(User, state.requester_id)
    return user.locale if user is not None else "en"


def do_carry_out(
    session: Session,
    ticket: Ticket,
    contract: Contract,
    decision: Decision,
    decision_seq: int,
    gathered: Gathered,
) -> None:
    """Tell the customer what was decided and why, in their language, then do the actions of
    the rule that decided. An action that cannot be done (a team that does not exist, a
    ticket closed meanwhile) becomes an internal note for the agents; nothing is half-done."""
    actor = automation_actor(ticket.organization_id)
    by = {
        "decision_seq": decision_seq,
        "contract": contract.name,
        "version": contract.version,
        "rule": decision.rule,
    }
    state = row_to_state(ticket)
    if state.status is Status.CLOSED or state.erased_at is not None:
        return
    locale = _customer_locale(session, state)
    parts = [templates.text(decision.reason, locale)]
    pending = False
    for action in decision.actions:
        if action["type"] == "reply":
            parts.append(translate(locale, templates.TEMPLATES[action["template"]]))
        elif action["type"] == "request_information":
            parts.append(templates.text(action["ask"], locale))
            pending = True
    if decision.outcome != "needs_human" and decision.rule is not None:
        short = contract.contract_hash.removeprefix("sha256:")[:12]
        parts.append(
            translate(
                locale,
                templates.APPEAL,
                rule=decision.rule,
                name=contract.name,
                version=contract.version,
                hash=short,
            )
        )
    notes: list[str] = []
    tickets.do_add_message(
        session,
        actor,
        ticket,
        body="\n\n".join(parts),
        status=Status.PENDING if pending and state.status is not Status.PENDING else None,
        by=by,
    )
    if decision.outcome == "needs_human":
        tickets.do_change_tags(session, actor, ticket, add=["needs-human"], remove=[], by=by)
        if gathered.unknown:
            notes.append(
                "Facts not known: "
                + "; ".join(f"{name}: {why}" for name, why in sorted(gathered.unknown.items()))
            )
    ordered = sorted(decision.actions, key=lambda a: a["type"] == "close")
    for action in ordered:
        head = session.get(LogHead, 1)
        before = head.next_seq if head else None
        try:
            note = _act(session, actor, ticket, contract, action, decision_seq, by)
        except Error as exc:
            if head is not None and head.next_seq != before:
                raise  # something was written: never leave half an action
            note = f"Action {action['type']} of rule {decision.rule} was not done: {exc.message}"
        if note:
            notes.append(note)
    if notes:
        tickets.do_add_message(
            session, actor, ticket, body="\n".join(notes), visibility=Visibility.INTERNAL, by=by
        )
    held = session.scalars(
        select(Payout.id).where(Payout.decision_seq == decision_seq, Payout.status == "held")
    ).first()
    if held is not None:  # the customer was told of a payment; say it waits for a person
        tickets.do_add_message(
            session, actor, ticket, body=translate(locale, templates.HELD), by=by
        )


#: How many automatic changes may follow one another from one person's (or the clock's) event.
MAX_DEPTH = 3


def do_carry_out_rules(
    session: Session,
    ticket: Ticket,
    rules: Contract,
    firings: list[Firing],
    origin: dict[str, Any],
) -> None:
    """Do the actions of the automation rules that fired, each change attributed to its rule
    (``by``: automation, version, rule, the origin event, the depth and the chain of rules so
    far). A rule already in the chain would start a loop, and a chain deeper than
    :data:`MAX_DEPTH` is cut: both stop with an internal note instead."""
    actor = automation_actor(ticket.organization_id)
    chain: list[str] = list(origin.get("chain", []))
    depth = int(origin.get("depth", 0)) + 1
    stopped: list[str] = []
    for firing in firings:
        link = f"{rules.name}.{firing.rule}"
        if link in chain or depth > MAX_DEPTH:
            stopped.append(link)
            continue
        state = row_to_state(ticket)
        if state.status is Status.CLOSED or state.erased_at is not None:
            return
        by = {
            "automation": rules.name,
            "version": rules.version,
            "rule": firing.rule,
            "origin": origin.get("origin"),
            "depth": depth,
            "chain": [*chain, link],
        }
        notes = []
        for action in sorted(firing.actions, key=lambda a: a["type"] == "close"):
            head = session.get(LogHead, 1)
            before = head.next_seq if head else None
            try:
                note = do_act(session, actor, ticket, rules, action, by)
            except Error as exc:
                if head is not None and head.next_seq != before:
                    raise
                note = f"Action {action['type']} of rule {link} was not done: {exc.message}"
            if note:
                notes.append(note)
        if notes:
            tickets.do_add_message(
                session, actor, ticket, body="\n".join(notes), visibility=Visibility.INTERNAL, by=by
            )
    if stopped and row_to_state(ticket).status is not Status.CLOSED:
        log.warning("automation loop stopped on ticket %s: %s", ticket.id, " → ".join(chain))
        tickets.do_add_message(
            session,
            actor,
            ticket,
            body="Automation stopped to avoid a loop: "
            + ", ".join(stopped)
            + f" would fire again after {' → '.join(chain) or 'the same change'}.",
            visibility=Visibility.INTERNAL,
            by={"automation": rules.name, "loop_stopped": stopped, "chain": chain},
        )


def do_act(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    rules: Contract | None,
    action: dict[str, Any],
    by: dict[str, Any],
) -> str | None:
    """Do one action of an automation rule or a macro (``rules`` None)."""
    kind = action["type"]
    locale = _customer_locale(session, row_to_state(ticket))
    if kind == "reply":
        body = translate(locale, templates.TEMPLATES[action["template"]])
        tickets.do_add_message(session, actor, ticket, body=body, by=by)
    elif kind == "request_information":
        status = Status.PENDING if ticket.status != Status.PENDING.value else None
        body = templates.text(action["ask"], locale)
        tickets.do_add_message(session, actor, ticket, body=body, status=status, by=by)
    elif kind == "add_tags":
        tickets.do_change_tags(session, actor, ticket, add=list(action["tags"]), remove=[], by=by)
    elif kind == "add_note":
        text = f"{action['text']['en']}\n{action['text']['zh-CN']}"
        tickets.do_add_message(
            session, actor, ticket, body=text, visibility=Visibility.INTERNAL, by=by
        )
    else:
        return _act(session, actor, ticket, rules, action, -1, by)
    return None


def _act(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    contract: Contract | None,
    action: dict[str, Any],
    decision_seq: int,
    by: dict[str, Any],
) -> str | None:
    """Do one action; returns a note for the agents, if any."""
    kind = action["type"]
    if kind in ("reply", "request_information"):
        return None  # said in the decision's message
    if kind == "set_fields":
        tickets.do_update_fields(session, actor, ticket, dict(action["fields"]), by=by)
    elif kind == "route_to_team":
        team = session.scalars(
            select(Team).where(
                Team.organization_id == ticket.organization_id, Team.name == action["team"]
            )
        ).first()
        if team is None:
            return f"No team named {action['team']!r}: route this ticket by hand."
        tickets.do_assign(session, actor, ticket, assignee_id=None, team_id=team.id, by=by)
    elif kind == "escalate_priority":
        order = [p.value for p in Priority]
        if order.index(action["priority"]) > order.index(ticket.priority):
            tickets.do_update_fields(
                session, actor, ticket, {"priority": action["priority"]}, by=by
            )
    elif kind == "close":
        if ticket.status != Status.SOLVED.value:
            tickets.do_change_status(session, actor, ticket, Status.SOLVED, by=by)
    elif kind in ("pay_from_escrow", "credit_reward"):
        assert contract is not None, "only service contracts move money"
        payout, _, new = payouts.do_create_payout(
            session,
            actor,
            row_to_state(ticket),
            kind="escrow" if kind == "pay_from_escrow" else "reward",
            amount=action["amount"],
            contract=contract.name,
            limits=dict(contract.spec.get("limits", {})),
            decision_seq=decision_seq,
            by=by,
        )
        if not new:
            return f"Claim {payout.claim_id} already has a {payout.status} payout; not paid again."
        if payout.status == "held":
            return f"Payout of {payout.amount} held for approval: {payout.hold_reason}."
    return None


def replay_ticket(session: Session, ticket: Ticket) -> list[tuple[int, str, list[str]]]:
    """Decide every logged decision of the ticket again: ``(event seq, contract, differences)``
    for each; no differences means the decision is reproduced."""
    reader = EventReader(session)
    rows = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.type == EventType.DECIDED.value)
        .order_by(TicketEvent.seq)
    ).all()
    results = []
    for row in rows:
        payload = reader.event(row).payload
        contract = load(access_contract(session, ticket.organization_id, payload["contract_hash"]))
        logged = {
            "contract_hash": payload["contract_hash"],
            "facts": payload["facts"],
            "decision": payload["decision"],
        }
        results.append((row.seq, f"{contract.name} v{contract.version}", replay(contract, logged)))
    return results
