"""Sign-In with Ethereum (EIP-4361): a strict parser, and who signed a message.

The parser follows the EIP's ABNF line by line: every field in its place, nothing extra, no
blank line too many; the domain is an RFC 3986 authority whose host is a DNS name or an IP
address; the address is EIP-55 checksummed; URIs are RFC 3986 URIs; times are RFC 3339. A
message is accepted only if :meth:`SiweMessage.text` gives back exactly the signed bytes, so
two different texts can never stand for the same fields. Why our own parser and not the
``siwe`` package: ``docs/decisions/0004-own-siwe-parser.md``.

Signatures: an externally owned account's by EIP-191 recovery, refusing malleable (high-s)
and malformed signatures; a smart-contract wallet's by EIP-1271 ``isValidSignature`` on chain
(:func:`check_eip1271`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_utils.address import is_checksum_address
from web3 import Web3

from proofdesk.chain.base import Chain, ChainError
from proofdesk.errors import InvalidInput, Unauthenticated

HEADER = " wants you to sign in with your Ethereum account:"
#: secp256k1's group order; a valid signature's s is at most half of it (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: What ``isValidSignature`` returns for a valid signature (EIP-1271).
EIP1271_MAGIC = bytes.fromhex("1626ba7e")

_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HOST = rf"(?:\[[0-9A-Fa-f:.]+\]|{_IPV4}|{_LABEL}(?:\.{_LABEL})*)"
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
AUTHORITY = re.compile(rf"(?:{_USERINFO}@)?{_HOST}(?::\d{{1,5}})?")
# RFC 3986 URI characters (no spaces, no controls, percent-escapes well formed).
URI = re.compile(rf"{_SCHEME}:(?:[{_UNRESERVED}{_SUB_DELIMS}:@/?#\[\]]|{_PCT})*")
STATEMENT = re.compile(rf"[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@ ]*")
NONCE = re.compile(r"[A-Za-z0-9]{8,}")
REQUEST_ID = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})*")
DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
OPTIONAL = (
    ("Expiration Time: ", "expiration_time"),
    ("Not Before: ", "not_before"),
    ("Request ID: ", "request_id"),
)


class SiweError(InvalidInput):
    """A message that is not EIP-4361 (422, ``siwe_malformed``)."""

    code = "siwe_malformed"


class SiweRejected(Unauthenticated):
    """A well-formed message or signature that does not sign this user in (401); ``code``
    says which check failed."""


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: str
    statement: str | None = None
    scheme: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The message exactly as EIP-4361 lays it out (what the wallet signs)."""
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{prefix}{self.domain}{HEADER}", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {self.issued_at}",
        ]
        for label, name in OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                lines.append(f"{label}{value}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)

    def time(self, name: str) -> datetime | None:
        value = getattr(self, name)
        return None if value is None else _parse_time(value, name)


def _parse_time(value: str, name: str) -> datetime:
    if not DATE_TIME.fullmatch(value):
        raise SiweError(f"{name} is not an RFC 3339 date-time", field=name)
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"{name} is not a real date and time", field=name) from None
    return moment


def _field(lines: list[str], at: int, label: str, name: str) -> str:
    if at >= len(lines) or not lines[at].startswith(label):
        raise SiweError(f"line {at + 1} must be {label.strip()!r} (the {name})", field=name)
    return lines[at][len(label) :]


def parse(text: str) -> SiweMessage:
    """Parse an EIP-4361 message, refusing anything the grammar does not allow."""
    if not isinstance(text, str) or "\r" in text:
        raise SiweError("the message must be text with LF line ends")
    lines = text.split("\n")
    if not lines[0].endswith(HEADER):
        raise SiweError("line 1 must end with 'wants you to sign in with your Ethereum account:'")
    authority = lines[0][: -len(HEADER)]
    scheme = None
    if "://" in authority:
        scheme, authority = authority.split("://", 1)
        if not re.fullmatch(_SCHEME, scheme):
            raise SiweError("the scheme is not an RFC 3986 scheme", field="scheme")
    if not AUTHORITY.fullmatch(authority):
        raise SiweError("the domain is not an RFC 3986 authority", field="domain")
    if len(lines) < 3:
        raise SiweError("the message ends after its first line")
    address = lines[1]
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address) or not is_checksum_address(address):
        raise SiweError("the address is not an EIP-55 checksummed address", field="address")
    if lines[2] != "":
        raise SiweError("line 3 must be empty")
    at = 3
    statement = None
    if at < len(lines) and lines[at] != "":
        statement = lines[at]
        if not STATEMENT.fullmatch(statement):
            raise SiweError(
                "the statement has characters EIP-4361 does not allow", field="statement"
            )
        at += 1
    if at >= len(lines) or lines[at] != "":
        raise SiweError(f"line {at + 1} must be empty")
    at += 1
    uri = _field(lines, at, "URI: ", "uri")
    if not URI.fullmatch(uri):
        raise SiweError("the URI is not an RFC 3986 URI", field="uri")
    version = _field(lines, at + 1, "Version: ", "version")
    if version != "1":
        raise SiweError("only version 1 exists", field="version")
    chain = _field(lines, at + 2, "Chain ID: ", "chain_id")
    if not re.fullmatch(r"[1-9]\d{0,18}", chain):
        raise SiweError("the chain id is not a positive integer", field="chain_id")
    nonce = _field(lines, at + 3, "Nonce: ", "nonce")
    if not NONCE.fullmatch(nonce):
        raise SiweError("the nonce must be 8 or more letters and digits", field="nonce")
    issued_at = _field(lines, at + 4, "Issued At: ", "issued_at")
    _parse_time(issued_at, "issued_at")
    at += 5
    optional: dict[str, str] = {}
    for label, name in OPTIONAL:
        if at < len(lines) and lines[at].startswith(label):
            optional[name] = lines[at][len(label) :]
            at += 1
    for name in ("expiration_time", "not_before"):
        if name in optional:
            _parse_time(optional[name], name)
    if "request_id" in optional and not REQUEST_ID.fullmatch(optional["request_id"]):
        raise SiweError("the request id has characters EIP-4361 does not allow", field="request_id")
    resources: list[str] = []
    if at < len(lines) and lines[at] == "Resources:":
        at += 1
        while at < len(lines) and lines[at].startswith("- "):
            resource = lines[at][2:]
            if not URI.fullmatch(resource):
                raise SiweError(f"resource {len(resources) + 1} is not an RFC 3986 URI")
            resources.append(resource)
            at += 1
    if at != len(lines):
        raise SiweError(f"line {at + 1} is not where EIP-4361 allows it (fields out of order?)")
    message = SiweMessage(
        domain=authority,
        address=address,
        uri=uri,
        version=version,
        chain_id=int(chain),
        nonce=nonce,
        issued_at=issued_at,
        statement=statement,
        scheme=scheme,
        resources=tuple(resources),
        **optional,
    )
    if message.text() != text:
        raise SiweError("the message is not in the EIP-4361 layout")
    return message


def signature_bytes(signature: str) -> bytes:
    """A 65-byte ``r || s || v`` signature from hex (``0x`` optional); anything else, or a
    malleable high-s signature, is :class:`SiweRejected` ``bad_signature``."""
    text = signature.removeprefix("0x") if isinstance(signature, str) else ""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 65:
        raise SiweRejected("the signature is not 65 bytes of hex", code="bad_signature")
    s = int.from_bytes(raw[32:64], "big")
    if not 0 < s <= SECP256K1_N // 2:
        raise SiweRejected("the signature's s is out of range (EIP-2)", code="bad_signature")
    if raw[64] not in (0, 1, 27, 28):
        raise SiweRejected("the signature's v is not 27 or 28", code="bad_signature")
    return raw


def recover_personal(text: str, signature: bytes) -> str:
    """The EOA that signed ``text`` as an EIP-191 personal message."""
    try:
        address: str = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # eth-keys raises its own errors for points off the curve
        raise SiweRejected("the signature recovers no key", code="bad_signature") from None
    return address


def personal_hash(text: str) -> bytes:
    """The EIP-191 hash a wallet signs for ``text`` (what EIP-1271 wallets are asked about)."""
    return bytes(defunct_hash_message(text=text))


EIP1271_ABI: list[dict[str, Any]] = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]


def check_eip1271(chain: Chain, address: str, text: str, signature: bytes) -> bool:
    """Whether the contract at ``address`` says it signed ``text`` (EIP-1271). False for an
    address without code; a node that fails is a :class:`ChainError`."""
    if not chain.code_at(address):
        return False
    wallet = chain.w3.eth.contract(address=Web3.to_checksum_address(address), abi=EIP1271_ABI)
    call = wallet.functions.isValidSignature(personal_hash(text), signature)
    try:
        answer = chain.call(lambda: call.call())
    except ChainError:
        raise
    except Exception:  # a revert is a "no"
        return False
    return bytes(answer) == EIP1271_MAGIC
