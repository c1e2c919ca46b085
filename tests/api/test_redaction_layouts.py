"""Secrets as people really paste them — numbered backup cards, bullets, columns, every BIP-39
language, keys in groups or over two lines, keystores as QR base64 — are removed whole, and the
words around them are kept.

"Nothing of the secret survives" is checked as a run: no three consecutive words of a phrase
and no 12 consecutive hex digits of a key, anywhere (redacted text, API answers, events,
receipt, the SQLite file and its WAL, the blob store, the application log).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import re
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

from proofdesk.domain.redaction import LANGUAGES, install_log_filter, redact
from proofdesk.settings import Settings
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEYSTORE = json.dumps(Account.encrypt("0x" + KEY, "pw", iterations=2))
# The end-to-end test looks for its secrets in the whole data directory, which other tests of
# the session share: its key is its own.
OWN_KEY = hashlib.sha256(b"test_redaction_layouts").hexdigest()

# Words before and after a secret that must survive: some are on the English list ("help",
# "seed", "phrase", "card", "thank"), which the old redactor swallowed.
BEFORE = [
    "Please help. Seed phrase:",
    "My backup card says:",
    "请帮忙看看。助记词如下：",
    "Hi, here it is:",
    "Wallet restore words:\n",
]
AFTER = ["\nThank you!", "\n谢谢！", "\nWhat should I do now?", ""]


def layouts(words: list[str]) -> list[str]:
    """The ways a phrase is copied from a backup card or a wallet's screen."""
    n = len(words)
    half = (n + 1) // 2
    columns = "\n".join(
        f"{i + 1}. {words[i]}" + (f"    {i + 1 + half}. {words[i + half]}" if i + half < n else "")
        for i in range(half)
    )
    return [
        " ".join(words),
        ", ".join(words),
        "\n".join(words),
        "\n".join(f"{i + 1}. {w}" for i, w in enumerate(words)),
        " ".join(f"{i + 1}) {w}" for i, w in enumerate(words)),
        " ".join(f"{i + 1}.{w}" for i, w in enumerate(words)),
        "\n".join(f"- {w}" for w in words),
        "\n".join(f"• {w}" for w in words),
        columns,
        "\u3000".join(words),
    ]


def key_layouts(key: str) -> list[str]:
    return [
        f"private key: {key}",
        f"私钥：0x{key}",
        "private key: " + " ".join(key[i : i + 4] for i in range(0, 64, 4)),
        "key: " + "-".join(key[i : i + 8] for i in range(0, 64, 8)),
        f"私钥\n{key[:32]}\n{key[32:]}",
        f"exported:\n{key[:32]}\n{key[32:]}",
    ]


def keystore_layouts(key: str = KEY) -> list[str]:
    keystore = json.dumps(Account.encrypt("0x" + key, "pw", iterations=2))
    blob = base64.b64encode(keystore.encode()).decode()
    wrapped = "\n".join(blob[i : i + 76] for i in range(0, len(blob), 76))
    return [keystore, blob, wrapped]


def leaks_phrase(text: str, words: list[str]) -> bool:
    folded = re.sub(r"\s+", " ", text)
    return any(" ".join(words[i : i + 3]) in folded for i in range(len(words) - 2)) or any(
        re.search(r"[\s,.)\-•]+".join(map(re.escape, words[i : i + 3])), text)
        for i in range(len(words) - 2)
    )


def leaks_key(text: str, key: str = KEY) -> bool:
    digits = re.sub(r"[^0-9a-f]", "", text.lower())
    return any(key[i : i + 12] in digits for i in range(0, 53, 4))


phrases = st.builds(
    lambda language, strength, entropy: Mnemonic(language).to_mnemonic(entropy[: strength // 8]),
    st.sampled_from(LANGUAGES),
    st.sampled_from([128, 160, 192, 224, 256]),
    st.binary(min_size=32, max_size=32),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phrases, st.integers(0, 9), st.sampled_from(BEFORE), st.sampled_from(AFTER))
def test_a_phrase_in_any_layout_and_language_is_removed_and_its_neighbours_kept(
    phrase: str, layout: int, before: str, after: str
) -> None:
    words = phrase.split()  # the library joins Japanese with U+3000
    text = f"{before} {layouts(words)[layout]}{after}"
    result = redact(text)
    assert result.kinds == ["seed_phrase"], text
    assert not leaks_phrase(result.text, words), result.text
    assert result.text.startswith(before.strip()), result.text
    assert result.text.endswith(after.strip()), result.text


@pytest.mark.parametrize("text", key_layouts(KEY))
@pytest.mark.parametrize("before", ["Please help.", "请帮忙看看。"])
def test_a_key_split_in_groups_or_lines_is_removed(text: str, before: str) -> None:
    result = redact(f"{before} {text}\nThank you!")
    assert result.kinds == ["private_key"], text
    assert not leaks_key(result.text), result.text
    assert result.text.startswith(before) and result.text.endswith("Thank you!")


@pytest.mark.parametrize("text", keystore_layouts(), ids=["json", "base64", "base64-wrapped"])
def test_a_keystore_as_json_or_qr_base64_is_removed(text: str) -> None:
    result = redact(f"my keystore QR:\n{text}\nhelp")
    assert result.kinds == ["keystore"]
    assert "ciphertext" not in result.text and text[100:140] not in result.text
    assert result.text.startswith("my keystore QR:") and result.text.endswith("help")


@pytest.mark.parametrize(
    "text",
    [
        "Please help. Seed phrase: I lost it, what can I do?",
        "1. Open the app 2. Tap withdraw 3. Enter the amount",  # a numbered list of prose
        "a bad cafe faced a dead beef, added " + "ab cd ef 01 " * 8,
        "txid " + " ".join(KEY[i : i + 8] for i in range(0, 64, 8)),
        "tx hash 0x" + KEY,
        "订单号 2026120100012345 金额 1200.50 USDT",
        "Mon portefeuille affiche zéro depuis la mise à jour, pouvez-vous vérifier ?",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text).text == text


def test_the_access_log_keeps_its_shape_with_a_secret_in_the_query() -> None:
    """uvicorn's access formatter unpacks five arguments; the filter used to replace them."""
    from uvicorn.logging import AccessFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    errors = io.StringIO()  # where logging prints a formatting failure
    raising, logging.raiseExceptions = logging.raiseExceptions, True
    try:
        install_log_filter()
        with contextlib.redirect_stderr(errors):
            logger.info(
                '%s - "%s %s HTTP/%s" %d',
                ("127.0.0.1", 5000),
                "GET",
                f"/api/v1/health?k={'ab' * 32}",
                "1.1",
                200,
            )
    finally:
        logger.removeHandler(handler)
        logging.raiseExceptions = raising
    written = stream.getvalue()
    assert errors.getvalue() == ""  # no "--- Logging error ---" traceback
    assert written.count("\n") == 1 and "200" in written and "/api/v1/health?k=" in written
    assert "ab" * 32 not in written


def test_nothing_of_any_secret_is_stored_anywhere(
    client: TestClient, tenant: Tenant, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    phrases_by_language = {
        language: Mnemonic(language).to_mnemonic(bytes(range(i, i + 16))).split()
        for i, language in enumerate(LANGUAGES)
    }
    bodies = [
        f"{BEFORE[i % len(BEFORE)]} {layouts(words)[i % 10]}\nThank you!"
        for i, words in enumerate(phrases_by_language.values())
    ]
    bodies += [f"Please help. {k}" for k in key_layouts(OWN_KEY)]
    bodies += [f"keystore:\n{k}" for k in keystore_layouts(OWN_KEY)]
    caplog.set_level(logging.DEBUG)
    ticket = new_ticket(client, tenant.customer, subject="help", body=bodies[0])
    answers = [json.dumps(ticket, ensure_ascii=False)]
    for body in bodies[1:]:
        reply = client.post(
            f"{API}/tickets/{ticket['id']}/messages",
            json={"body": body},
            headers=tenant.customer.headers,
        )
        assert reply.status_code == 201, reply.text
        answers.append(reply.text)
    for path in ("", "/messages", "/events"):
        answers.append(
            client.get(f"{API}/tickets/{ticket['id']}{path}", headers=tenant.agent.headers).text
        )
    answers.append(
        client.get(f"{API}/tickets/{ticket['id']}/receipt", headers=tenant.customer.headers).text
    )
    messages = client.get(
        f"{API}/tickets/{ticket['id']}/messages", headers=tenant.customer.headers
    ).json()
    kept = " ".join(m["body"] for m in messages)
    assert "Thank you!" in kept and "Please help." in kept  # the words around survive
    data_dir = Path(settings.data_dir)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    raw = [p.read_bytes().decode("utf-8", errors="ignore") for p in files]
    # The API's answers are JSON: read them back so that escaped non-ASCII words count too.
    answers = [json.dumps(json.loads(a), ensure_ascii=False) for a in answers]
    everything = [*answers, *raw, caplog.text]
    for text in everything:
        for words in phrases_by_language.values():
            assert not leaks_phrase(text, words)
        assert not leaks_key(text, OWN_KEY)
        assert "ciphertext" not in text
