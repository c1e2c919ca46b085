"""Validation of the identifiers a ticket can link to: EVM addresses, transaction hashes, orders.

Addresses and transaction ids follow the rules of their network (``domain.networks``); with no
network named they are EVM's, stored lower case.
"""

from __future__ import annotations

import re

from proofdesk.domain import networks
from proofdesk.errors import InvalidInput

_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_TAG = re.compile(r"^[\w\-:.]{1,40}$")
MAX_CHAIN_ID = 2**53 - 1
#: Integer row ids (and ticket numbers) are SQL INTEGER: 32 bits on PostgreSQL.
MAX_ROW_ID = 2**31 - 1


def row_id(text: str) -> int | None:
    """An integer id from a URL or a form, or None for text that cannot be one (not ASCII
    digits, or beyond the column's range): looking it up then finds nothing, exactly as for
    an id that does not exist — never a database error."""
    if not (text.isascii() and text.isdecimal()) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def evm_address(value: str) -> str:
    """An EVM address in its stored form (lower case). Mixed case means EIP-55: a checksum
    that does not match is a typo, refused."""
    return networks.address(None, value)


def tx_hash(value: str) -> str:
    """An EVM transaction hash; other networks' ids go through ``networks.tx_id``."""
    return networks.tx_id(None, value)


def network_key(value: str) -> str:
    return networks.network(value).key


def order_id(value: str) -> str:
    if not _ORDER_ID.match(value):
        raise InvalidInput("order id must be 1-64 letters, digits or _.:-", field="order_id")
    return value


def chain_id(value: int) -> int:
    if isinstance(value, bool) or not 1 <= value <= MAX_CHAIN_ID:
        raise InvalidInput("chain id must be a positive integer (EIP-155)", field="chain_id")
    return value


def tag(value: str) -> str:
    """Tags are case-folded words (letters of any script, digits, ``_-:.``), at most 40 long."""
    folded = value.strip().casefold()
    if not _TAG.match(folded):
        raise InvalidInput(f"invalid tag {value!r}: 1-40 letters, digits or _-:.", field="tags")
    return folded
