"""The internal note a hand-off leaves for the agents: a few sentences in the conversation's
language — why a person takes over, what the customer asked, the intent the assistant
recognised and how sure it was (as a percentage, or that it did not recognise one), the
identifiers it found, what the chains said, and the suggested reply — instead of a JSON dump."""

from __future__ import annotations

from collections.abc import Sequence

from proofdesk.assistant.kb import ArticleSpec
from proofdesk.assistant.lookup import TxReport
from proofdesk.domain.entities import Entity
from proofdesk.i18n import N_, translate

TITLE = N_("Assistant hand-off: {reason}")
ASKED = N_("The customer asked: {text}")
INTENT = N_("Intent: {label} (the assistant's confidence: {percent}%)")
NOT_RECOGNISED = N_("Intent: not recognised")
FOUND = N_("Identifiers found: {items}")
ON_CHAIN = N_("On chain: {items}")
SUGGESTED = N_("Suggested reply: {title}")
RELATED = N_("Related articles: {titles}")
INVALID = N_("not valid")

#: Why a person takes over, by the reason the assistant gives.
REASONS = {
    "asked_for_human": N_("the customer asked for a person"),
    "always_human": N_("a person always handles this kind of request"),
    "low_confidence": N_("the assistant was not sure enough to answer"),
    "out_of_scope": N_("the question is outside what the assistant knows"),
    "no_article": N_("the knowledge base has no public article for it"),
    "no_knowledge_base": N_("there is no knowledge base yet"),
    "repeated": N_("two answers did not settle it"),
    "unhelpful": N_("the customer said the answer did not help"),
}
OTHER_REASON = N_("the assistant handed it over")


def handoff_note(
    lang: str,
    *,
    reason: str | None,
    asked: str,
    intent: str | None,
    confidence: float,
    entities: Sequence[Entity],
    transactions: Sequence[TxReport],
    suggestion: ArticleSpec | None,
    related: Sequence[tuple[ArticleSpec, float]],
) -> str:
    """The note's text (the caller appends the suggested reply's body)."""
    lines = [
        translate(lang, TITLE, reason=translate(lang, REASONS.get(reason or "", OTHER_REASON))),
        translate(lang, ASKED, text=" ".join(asked.split())[:300]),
    ]
    if intent:
        label = suggestion.title if suggestion is not None else intent.replace("_", " ")
        lines.append(translate(lang, INTENT, label=label, percent=round(confidence * 100)))
    else:
        lines.append(translate(lang, NOT_RECOGNISED))
    if entities:
        items = ", ".join(
            f"{e.value}" + ("" if e.valid else f" ({translate(lang, INVALID)})") for e in entities
        )
        lines.append(translate(lang, FOUND, items=items))
    if transactions:
        items = ", ".join(
            f"{r.network} {r.tx_hash}: {r.state} ({r.confirmations}/{r.required})"
            for r in transactions
        )
        lines.append(translate(lang, ON_CHAIN, items=items))
    if suggestion is not None:
        lines.append(translate(lang, SUGGESTED, title=suggestion.title))
    if related:
        lines.append(translate(lang, RELATED, titles=", ".join(a.title for a, _ in related)))
    return "\n".join(lines)
