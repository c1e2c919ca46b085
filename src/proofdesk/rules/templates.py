"""Reply templates that contract actions name (``type: reply, template: …``): catalog messages,
translated into the customer's language where they are sent. A contract that names a template
not listed here is refused when published."""

from __future__ import annotations

import re
from collections.abc import Mapping

from proofdesk.i18n import N_

TEMPLATES: dict[str, str] = {
    "refund-approved": N_(
        "Your refund is on its way to your verified wallet. You will see the transaction in "
        "this request's history once it is confirmed on chain."
    ),
    "warranty-approved": N_(
        "Your warranty claim is accepted. Our warranty team will contact you about the "
        "replacement or refund."
    ),
    "withdrawal-confirmed": N_(
        "Your withdrawal is confirmed on chain. If it has not arrived, check that the receiving "
        "address, network and memo/tag are right, or ask the receiving platform."
    ),
    "information-needed": N_("We need a little more information to decide your request."),
}

#: Said when a payment the decision ordered waits for a person (above a limit, say).
HELD = N_(
    "The payment needs a supervisor's approval first (it is above our automatic limits, or we "
    "need to confirm your wallet); you will see it in this request once it is sent."
)

#: What the customer is told about appealing an automatic decision, with the rule to cite.
APPEAL = N_(
    "Decided automatically by rule “{rule}” of our published service contract {name} "
    "v{version} ({hash}). To appeal, reply to this request citing that rule; a person will "
    "review it."
)


def text(values: dict[str, str], locale: str) -> str:
    """A contract's or macro's own text (data: ``{"en": …, "zh-CN": …}``) in ``locale``."""
    return values.get(locale) or values["en"]


#: The variables a macro's reply may hold, as ``{{customer.name}}``; ``agent.name`` is the
#: agent's alias where they have one (the name customers see), else their name.
VARIABLES = (
    "customer.name",
    "customer.email",
    "ticket.number",
    "ticket.subject",
    "agent.name",
    "agent.alias",
)
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_]+(?:\.[A-Za-z_]+)?)\s*\}\}")


def unknown_variables(text: str) -> list[str]:
    """The ``{{…}}`` names in ``text`` that are not :data:`VARIABLES`, in order."""
    return [m.group(1) for m in _VARIABLE.finditer(text) if m.group(1) not in VARIABLES]


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{{variable}}`` of :data:`VARIABLES` replaced by its value (an
    empty one when ``values`` lacks it); anything else is left as written."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, "") if name in VARIABLES else match.group(0)

    return _VARIABLE.sub(one, text)
