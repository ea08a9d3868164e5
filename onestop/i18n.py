"""The one translation layer.

Every user-facing string is written in Vietnamese in the code and passed through ``t()``.
Vietnamese is the source language, so a missing English entry still shows correct
Vietnamese instead of a key; ``assets/i18n/en.json`` maps the Vietnamese text to English.
Placeholders use ``str.format`` names so both languages can reorder them.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any

from onestop.paths import asset_path

LANGUAGES = ("vi", "en")
_current = (
    os.environ.get("ONESTOP_LANG", "vi") if os.environ.get("ONESTOP_LANG") in LANGUAGES else "vi"
)


def set_language(lang: str) -> None:
    """Switch the language for the whole process ("vi" or "en")."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(
            t(
                "Ngôn ngữ không hỗ trợ: {lang} (chọn một trong: {choices})",
                lang=repr(lang),
                choices=", ".join(LANGUAGES),
            )
        )
    _current = lang
    for listener in _listeners:
        listener(lang)


# Called after every language switch: words a library wrote in English at import time (the
# terminal UI's stock widgets) are put into the new language there. Never imports the library.
_listeners: list[Callable[[str], None]] = []


def on_language_change(listener: Callable[[str], None]) -> None:
    """Call ``listener(lang)`` after each ``set_language`` from now on."""
    if listener not in _listeners:
        _listeners.append(listener)


def get_language() -> str:
    return _current


@cache
def _catalog(lang: str) -> dict[str, str]:
    if lang == "vi":
        return {}
    path = asset_path("i18n", f"{lang}.json")
    with path.open(encoding="utf-8") as f:
        raw: dict[str, str] = json.load(f)
    # Keys are compared in NFC so an editor that saved NFD never breaks a lookup.
    return {unicodedata.normalize("NFC", k): v for k, v in raw.items()}


def t(text: str, /, **kwargs: Any) -> str:
    """Translate Vietnamese source ``text`` into the current language and fill placeholders."""
    translated = _catalog(_current).get(text, text) if _current != "vi" else text
    return translated.format(**kwargs) if kwargs else translated


# The key suffix of an English singular: Vietnamese nouns do not change with a count ("1 hồ sơ",
# "2 hồ sơ"), English ones do ("1 dossier", "2 dossiers"), so en.json holds the plural under the
# Vietnamese text and the singular under the same text plus this suffix.
SINGULAR_SUFFIX = " #one"


def tn(text: str, n: int, /, **kwargs: Any) -> str:
    """``t()`` for a sentence about ``n`` things: fills ``{n}`` and picks English's singular
    entry (``text + SINGULAR_SUFFIX``) when ``n`` is 1."""
    if _current != "vi" and n == 1:
        one = _catalog(_current).get(text + SINGULAR_SUFFIX)
        if one is not None:
            return one.format(n=n, **kwargs)
    return t(text, n=n, **kwargs)
