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
