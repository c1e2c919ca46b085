"""The one message catalog: every sentence marked in a template or in Python has its Chinese
translation and keeps its placeholders, the catalog holds nothing stale, fuzzy or obsolete, and no
module keeps translations of its own in a ``{"en": …, "zh-CN": …}`` dict."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from proofdesk import i18n
from proofdesk.assistant.lookup import TxReport, describe
from proofdesk.domain.attachments import check_attachment
from proofdesk.errors import InvalidInput
from proofdesk.rules.engine import NEEDS_HUMAN
from proofdesk.web.pages import ERROR_CONTEXT, ERRORS
from tests.support.paths import ROOT

PACKAGE = ROOT / "src" / "proofdesk"
CATALOG = PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
#: Data a module carries, not text of the interface: the demo exchange's tickets and articles.
DATA = ("demo/",)
LOCALE_KEYS = frozenset({"en", "zh", "zh-CN", "zh_CN"})


Key = tuple[str | None, str]


def extracted(root: Path = ROOT) -> dict[Key, list[str]]:
    """Every (msgctxt, msgid) that ``babel.cfg`` finds under ``root``, with its files."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[Key, list[str]] = {}
    for filename, _, message, _, context in extract_from_dir(
        str(root),
        method_map,
        options_map,
        directory_filter=lambda path: Path(path).name not in ("node_modules", ".venv", ".git"),
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((context, msgid), []).append(filename)
    return found


def catalog() -> Catalog:
    with CATALOG.open("rb") as handle:
        return read_po(handle)


def test_every_sentence_has_its_chinese_translation() -> None:
    """English is the source; a sentence added to a template or to Python code without its
    Chinese is a failure, and so is a translation nobody uses any more."""
    wanted = extracted()
    assert len(wanted) > 50
    assert any(path.endswith(".py") for paths in wanted.values() for path in paths)
    read = catalog()
    assert not read.obsolete, f"obsolete entries: {sorted(read.obsolete)}"
    fuzzy = sorted(str(m.id) for m in read if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    translated = {(m.context, m.id): m.string for m in read if m.id and not m.fuzzy}
    missing = sorted(w for w in wanted if not translated.get(w))
    assert not missing, f"no Chinese for: {missing}"
    stale = sorted(set(translated) - set(wanted))
    assert not stale, f"translations of strings no longer used: {stale}"
    for (_, key), text in translated.items():
        assert isinstance(key, str) and isinstance(text, str)
        for placeholder in re.findall(r"%\(\w+\)s", key):
            assert placeholder in text, (key, text)
        # A translation may leave a detail out, never name one the English lacks.
        assert set(re.findall(r"\{\w*\}", text)) <= set(re.findall(r"\{\w*\}", key)), (key, text)


def test_an_untranslated_sentence_in_python_is_found(tmp_path: Path) -> None:
    """The extraction reads Python too: a sentence marked with ``N_`` reaches the check."""
    module = tmp_path / "src" / "proofdesk" / "new_feature.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        'from proofdesk.i18n import N_\n\nHELLO = N_("A sentence nobody translated.")\n'
    )
    found = extracted(tmp_path)
    assert set(found) == {(None, "A sentence nobody translated.")}
    assert "A sentence nobody translated." not in {m.id for m in catalog()}


def test_the_web_errors_are_sentences_of_the_catalog() -> None:
    """Each error a person can meet in the UI reads in both languages."""
    assert ERRORS and all(ERRORS.values())
    for message in ERRORS.values():
        assert i18n.translate("en", message, context=ERROR_CONTEXT) == message
        assert i18n.translate("zh-CN", message, context=ERROR_CONTEXT) != message
    # The sign-in page's own warning keeps its words; the error its own.
    limited = ERRORS["rate_limited"]
    assert i18n.translate("zh-CN", limited) == "尝试次数过多，请稍等一分钟。"
    assert i18n.translate("zh-CN", limited, context=ERROR_CONTEXT) == "尝试次数过多，请稍候再试。"


def test_translate_fills_placeholders_and_falls_back_to_english() -> None:
    check = "Please check: {message}"
    assert i18n.translate("en", check, message="x") == "Please check: x"
    assert i18n.translate("zh-CN", check, message="x") == "请检查输入：x"
    assert i18n.translate("fr", check, message="{y}") == "Please check: {y}"
    assert i18n.gettext_for("zh-CN")("This account is disabled.") == "此账户已停用。"
    assert i18n.in_every_locale(check, message="x") == {
        "en": "Please check: x",
        "zh-CN": "请检查输入：x",
    }
    assert i18n.N_(check) is check


def test_texts_recorded_in_both_languages_keep_their_words() -> None:
    """A decision's reason is logged in both languages; a refused file says both at once."""
    assert i18n.in_every_locale(NEEDS_HUMAN, fact="order.paid") == {
        "en": "A fact this request needs is not known yet (order.paid); a person will look at it.",
        "zh-CN": "判断所需的信息暂缺（order.paid），将由人工处理。",
    }
    seed = " ".join(["abandon"] * 11 + ["about"]).encode()
    with pytest.raises(InvalidInput) as refused:
        check_attachment("seed.txt", "text/plain", seed, max_bytes=1000, allowed=("text/plain",))
    assert refused.value.message == (
        "this file contains a secret (seed_phrase): it was not stored. Never share a seed phrase "
        "or private key; move your funds to a new wallet now. / 文件中含有助记词或私钥，未予保存。"
        "请勿向任何人提供助记词或私钥，并立即将资产转移到新钱包。"
    )


def test_the_assistant_says_what_the_chain_says_in_the_same_words() -> None:
    report = TxReport("0x" + "ab" * 32, "EVM", "confirmed", 12, 6, "0x" + "11" * 20, None, "1.5")
    tokens = TxReport(
        "0x" + "ab" * 32, "Ethereum", "confirming", 2, 6, token_transfers=3, value="2"
    )
    assert describe(report, "zh-CN") == (
        "交易 0xababab…ababab 已成功并确认（12 个确认）。从 0x111111…111111 转至 —，金额 1.5（原生币）。"
    )
    assert describe(tokens, "en").endswith("2 in the native coin, with 3 token transfer(s).")
    assert describe(tokens, "fr") == describe(tokens, "en")


def _sentence(node: ast.expr | None) -> bool:
    """A literal text (or a dict of them), as a hand-made translation would be written."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _sentence(node.left) or _sentence(node.right)
    if isinstance(node, ast.Dict):
        return any(_sentence(value) for value in node.values)
    return False


def translation_dicts(source: str, filename: str) -> list[str]:
    """Where ``source`` holds a dict literal keyed by locale codes with sentences as values."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        locale_values = [
            value
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and key.value in LOCALE_KEYS
        ]
        if keys & LOCALE_KEYS and any(_sentence(value) for value in locale_values):
            found.append(f"{filename}:{node.lineno}")
    return found


def test_no_module_keeps_translations_of_its_own() -> None:
    """Translations live in the catalog, not in ``{"en": …, "zh-CN": …}`` dicts in code."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(DATA):
            found += translation_dicts(path.read_text(encoding="utf-8"), relative)
    assert not found, f"bilingual dicts outside the catalog: {found}"


@pytest.mark.parametrize(
    "source",
    [
        'WORDS = {"en": "Hello", "zh-CN": "你好"}',
        'WORDS = {"en": {"hi": "Hello"}, "zh-CN": {"hi": "你好"}}',
        'def f(x):\n    return {"en": f"Missing {x}", "zh": "缺少" + x}',
    ],
)
def test_a_bilingual_dict_is_found(source: str) -> None:
    assert translation_dicts(source, "m.py") == ["m.py:1" if "def" not in source else "m.py:2"]


def test_locale_keyed_data_that_is_not_a_sentence_is_allowed() -> None:
    assert translation_dicts('TITLE = {"en": row.title_en, "zh-CN": row.title_zh}', "m.py") == []
    assert translation_dicts('CODES = {"ok": "fine"}', "m.py") == []
