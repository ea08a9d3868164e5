"""The English catalogue covers every ``t()`` literal in the code, with the same placeholders."""

from __future__ import annotations

import ast
import json
import string
import unicodedata
from functools import cache
from pathlib import Path

import pytest

import onestop
from onestop.i18n import get_language, set_language, t
from onestop.paths import asset_path

PACKAGE = Path(onestop.__file__).parent


@cache
def _catalog() -> dict[str, str]:
    with asset_path("i18n", "en.json").open(encoding="utf-8") as f:
        raw: dict[str, str] = json.load(f)
    return raw


@cache
def _literals() -> dict[str, list[str]]:
    """Every ``t("...")`` whose first argument is a string literal -> where it is called."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            attr = func.attr if isinstance(func, ast.Attribute) else None
            if name in ("t", "tn") or attr in ("t", "tn"):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    found.setdefault(first.value, []).append(where)
    return found


def _placeholders(text: str) -> set[str]:
    """The ``str.format`` field names of ``text`` ("{day:%d/%m/%Y}" -> "day")."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(field.split(".")[0].split("[")[0])
    return names


def test_the_scan_finds_the_calls() -> None:
    # Guards the test itself: an AST walk that silently finds nothing would pass everything.
    literals = _literals()
    assert len(literals) > 100
    assert "Không có ngày hẹn trả cụ thể theo quy định" in literals


def test_every_t_literal_has_an_english_entry() -> None:
    en = {unicodedata.normalize("NFC", k) for k in _catalog()}
    missing = {
        text: where
        for text, where in _literals().items()
        if unicodedata.normalize("NFC", text) not in en
    }
    report = "\n".join(f"{text!r}  ({', '.join(where)})" for text, where in sorted(missing.items()))
    assert not missing, f"{len(missing)} t() strings have no entry in en.json:\n{report}"


@cache
def _counted_literals() -> set[str]:
    """The first argument of every ``tn("...", n)``: a sentence whose English changes with n."""
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                first = node.args[0]
                if (
                    name == "tn"
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    found.add(first.value)
    return found


def test_every_counted_sentence_has_an_english_singular() -> None:
    # "1 dossiers": a tn() sentence needs its singular entry, and it must say {n}.
    from onestop.i18n import SINGULAR_SUFFIX

    en = _catalog()
    assert _counted_literals(), "the scan found no tn() call"
    missing = [text for text in _counted_literals() if text + SINGULAR_SUFFIX not in en]
    assert not missing, f"no singular entry for: {missing}"
    assert all("{n}" in text for text in _counted_literals())


def test_tn_picks_the_english_singular() -> None:
    from onestop.i18n import tn

    text = "Trang {p}/{pages} · {n} hồ sơ"
    assert tn(text, 1, p=1, pages=1) == "Trang 1/1 · 1 hồ sơ"
    set_language("en")
    try:
        assert tn(text, 1, p=1, pages=1) == "Page 1/1 · 1 dossier"
        assert tn(text, 2, p=1, pages=1) == "Page 1/1 · 2 dossiers"
    finally:
        set_language("vi")


def test_t_literals_are_nfc() -> None:
    # t() looks the text up as written; the catalogue keys are NFC.
    bad = [text for text in _literals() if not unicodedata.is_normalized("NFC", text)]
    assert not bad


def test_t_literals_are_valid_format_strings() -> None:
    for text in _literals():
        _placeholders(text)  # raises ValueError on an unbalanced brace


def test_english_entries_keep_the_placeholders() -> None:
    bad = [
        f"{key!r} -> {value!r}"
        for key, value in _catalog().items()
        if _placeholders(value) != _placeholders(key)
    ]
    assert not bad, "placeholders differ:\n" + "\n".join(bad)


def test_label_tables_have_english_entries() -> None:
    # Labels kept in tables reach t() through a variable, so the literal scan cannot see them.
    from onestop.domain import lifecycle, reports

    labels = [
        *lifecycle.STATUS_LABELS.values(),
        *lifecycle.ACTION_LABELS.values(),
        *lifecycle.CHANNEL_LABELS.values(),
        *lifecycle.RETURN_CHANNEL_LABELS.values(),
        *lifecycle.SATISFACTION_LEVELS.values(),
        *(c[2] for c in reports.BIEU06_COLUMNS),
        *(c[3] for c in reports.BIEU06_COLUMNS),
    ]
    en = _catalog()
    assert not [label for label in labels if label not in en]


def test_no_empty_english_entry() -> None:
    empty = [k for k, v in _catalog().items() if not isinstance(v, str) or not v.strip()]
    assert not empty


def test_keys_are_nfc() -> None:
    bad = [k for k in _catalog() if not unicodedata.is_normalized("NFC", k)]
    assert not bad


def test_switching_language_and_back() -> None:
    text = "Không có ngày hẹn trả cụ thể theo quy định"
    assert get_language() == "vi"
    assert t(text) == text
    set_language("en")
    try:
        assert get_language() == "en"
        assert t(text) == _catalog()[text]
        assert t(text) != text
        assert t("Mã hồ sơ: {code}", code="X-1") == _catalog()["Mã hồ sơ: {code}"].format(
            code="X-1"
        )
    finally:
        set_language("vi")
    assert get_language() == "vi"
    assert t(text) == text
    with pytest.raises(ValueError):
        set_language("fr")
    assert get_language() == "vi"


def test_domain_messages_follow_the_language() -> None:
    from onestop.domain.cccd import CccdError, parse_cccd

    def message() -> str:
        with pytest.raises(CccdError) as info:
            parse_cccd("00109901234")
        return str(info.value)

    assert message() == "Số CCCD phải có đúng 12 chữ số (đang có 11)."
    set_language("en")
    try:
        english = message()
    finally:
        set_language("vi")
    assert english != message() and "11" in english
