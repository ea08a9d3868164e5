"""Ranking the intake's procedure search: the name that best matches every typed word first.

Issue 17: typing "chung thuc chu" listed "Chứng thực bản sao từ bản chính" first (codes in
order; "chu" is inside "chứng"), and Enter started a procedure with another deadline and fee.
The order is now, most important first:

1. how well the typed words match the *words* of the name, accents and case ignored: each
   typed word is matched to its own word of the name — the whole word (3), the start of a word
   (2), inside a word (1) — so "chu" counts as "chữ", not again as the inside of "chứng";
2. fewer words of the name left unmatched (what was typed describes more of it);
3. how often this desk received the procedure (a commune's usual procedures come first);
4. the code, only to break ties, so the order never changes from one keystroke to the next.

A typed procedure code ("2.000884" or its start) puts that procedure first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from onestop.domain.text import search_key

T = TypeVar("T")

WHOLE, START, INSIDE = 3, 2, 1
CODE_MATCH = 1000  # a typed code beats any name match


def _word_score(typed: str, word: str) -> int:
    if typed == word:
        return WHOLE
    if word.startswith(typed):
        return START
    if typed in word:
        return INSIDE
    return 0


def name_match(query: str, name: str, code: str = "") -> tuple[int, int]:
    """(match score, -unmatched name words) of ``name`` for ``query``: higher is better.

    Filtering is the store's job (every typed word inside the code, name or field); this only
    orders what it found."""
    raw = query.strip().casefold()
    if code and raw and any(ch.isdigit() for ch in raw) and code.casefold().startswith(raw):
        return (CODE_MATCH, 0)
    typed = search_key(query).split()
    words = search_key(name).split()
    if not typed:
        return (0, -len(words))
    free = list(words)
    total = 0
    # Longest typed words first: "chung" takes "chung" before "chu" could take it.
    for w in sorted(typed, key=len, reverse=True):
        best_i, best = -1, 0
        for i, word in enumerate(free):
            score = _word_score(w, word)
            if score > best:
                best_i, best = i, score
        if best_i < 0:
            # No word of its own left: inside a word another typed word took ("chu" in
            # "chứng"), or only in the procedure's field or code (the store's filter matches
            # those too). It matched, so it stays a result, but it adds nothing to the name.
            continue
        total += best
        free.pop(best_i)
    return (total, -len(free))


def rank(
    query: str,
    items: Sequence[T],
    *,
    name: Callable[[T], str],
    code: Callable[[T], str],
    usage: Mapping[str, int] | None = None,
) -> list[T]:
    """``items`` (what the store found for ``query``), best first (see the module docstring)."""
    used = usage or {}
    scored: list[tuple[tuple[int, int, int, str], T]] = []
    for item in items:
        m = name_match(query, name(item), code(item))
        scored.append(((-m[0], -m[1], -used.get(code(item), 0), code(item)), item))
    scored.sort(key=lambda pair: pair[0])
    return [item for _, item in scored]


__all__ = ["name_match", "rank"]
