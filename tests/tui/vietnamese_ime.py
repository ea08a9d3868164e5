"""What Unikey/EVKey send to a terminal while a clerk types Vietnamese (Telex or VNI).

An IME in a terminal cannot edit text it already sent: at every key it sends backspaces back
to where the word changed, then the rest of the word as it now reads. "Nguyeenx" in Telex is
N g u y e, then BS + "ê" (the second e), then "n", then BS BS + "ễn" (the tone lands on ê).
Which byte a backspace is depends on the machine: 0x08 (Ctrl+H) on some, 0x7F (DEL) on others.
Unikey's "Unicode tổ hợp" output sends decomposed letters (e + U+0302 + U+0303), one backspace
per code point.

``keystrokes`` is the small Telex/VNI engine that produces those streams from the keys a clerk
presses; ``stream`` turns them into the bytes the terminal receives. The engine knows the rules
the test words need (doubled vowels, w/7 horn and breve, đ, the five tones placed on the marked
vowel, else on the last vowel before a final consonant, else on the first of an open pair).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

VOWELS = set("aeiouy")
SHAPE = {"^": "\u0302", "(": "\u0306", "+": "\u031b"}
TONE = {"1": "\u0301", "2": "\u0300", "3": "\u0309", "4": "\u0303", "5": "\u0323"}
TELEX_TONES = {"s": "1", "f": "2", "r": "3", "x": "4", "j": "5"}
BS_CTRL_H = b"\x08"
BS_DEL = b"\x7f"


@dataclass
class _Letter:
    ch: str  # the base letter as typed (case kept)
    shape: str = ""  # "^" circumflex, "(" breve, "+" horn, "-" the stroke of đ

    @property
    def base(self) -> str:
        return self.ch.lower()


@dataclass
class _Word:
    letters: list[_Letter] = field(default_factory=list)
    tone: str = ""

    def vowel_positions(self) -> list[int]:
        out = []
        for i, letter in enumerate(self.letters):
            if letter.base not in VOWELS:
                continue
            prev = self.letters[i - 1].base if i else ""
            nxt = self.letters[i + 1].base if i + 1 < len(self.letters) else ""
            # "qu" and "gi" before a vowel: the u / i belongs to the consonant.
            if (prev == "q" and letter.base == "u") or (
                prev == "g" and letter.base == "i" and nxt in VOWELS
            ):
                continue
            out.append(i)
        return out

    def tone_position(self) -> int | None:
        vowels = self.vowel_positions()
        if not vowels:
            return None
        marked = [i for i in vowels if self.letters[i].shape]
        if marked:
            return marked[-1]  # ươ: on ơ; iê, uyê: on ê
        last = vowels[-1]
        if last + 1 < len(self.letters) or len(vowels) == 1:
            return last  # a final consonant follows (toán), or a single vowel
        return vowels[0]  # an open pair: hòa, ngày, ủy (Unikey's classic placement)

    def render(self) -> str:
        where = self.tone_position() if self.tone else None
        out = []
        for i, letter in enumerate(self.letters):
            if letter.shape == "-":
                out.append("Đ" if letter.ch.isupper() else "đ")
                continue
            text = letter.ch + SHAPE.get(letter.shape, "")
            if i == where:
                text += TONE[self.tone]
            out.append(text)
        return unicodedata.normalize("NFC", "".join(out))


def _modify(word: _Word, key: str, method: str) -> bool:
    """Apply ``key`` as a modifier of ``word``; False when it is a plain letter."""
    low = key.lower()
    letters = word.letters
    if not any(letter.base in VOWELS or letter.base == "d" for letter in letters):
        return False
    if method == "telex":
        if low in TELEX_TONES and word.vowel_positions():
            word.tone = TELEX_TONES[low]
            return True
        last = letters[-1] if letters else None
        if last is not None and not last.shape and last.base == low:
            if low in "aeo":
                last.shape = "^"
                return True
            if low == "d" and len(letters) == 1:
                last.shape = "-"
                return True
        if low == "w":
            return _horn(word)
        return False
    # VNI: digits
    if low in TONE and word.vowel_positions():
        word.tone = low
        return True
    if low == "6":
        for letter in reversed(letters):
            if letter.base in "aeo" and not letter.shape:
                letter.shape = "^"
                return True
    if low == "7":
        return _horn(word)
    if low == "8":
        for letter in reversed(letters):
            if letter.base == "a" and not letter.shape:
                letter.shape = "("
                return True
    if low == "9" and letters and letters[0].base == "d" and not letters[0].shape:
        letters[0].shape = "-"
        return True
    return False


def _horn(word: _Word) -> bool:
    """w (Telex) / 7 (VNI): ư ơ ă on the last u/o/a; "uo" becomes "ươ" in one key."""
    letters = word.letters
    for i in range(len(letters) - 1, -1, -1):
        letter = letters[i]
        if letter.shape or letter.base not in "uoa":
            continue
        letter.shape = "(" if letter.base == "a" else "+"
        if letter.base == "o" and i and letters[i - 1].base == "u" and not letters[i - 1].shape:
            letters[i - 1].shape = "+"
        return True
    return False


def keystrokes(keys: str, method: str) -> Iterator[str]:
    """The text shown after each key of ``keys`` typed with ``method`` ("telex" or "vni")."""
    done = ""
    word = _Word()
    for key in keys:
        if key.isalpha() or (method == "vni" and key.isdigit() and word.letters):
            if not _modify(word, key, method):
                if key.isalpha():
                    word.letters.append(_Letter(key))
                else:  # a digit that modifies nothing: ends the word, typed as is
                    done += word.render() + key
                    word = _Word()
        else:
            done += word.render() + key
            word = _Word()
        yield done + word.render()


def stream(keys: str, method: str, backspace: bytes, *, decomposed: bool = False) -> bytes:
    """The bytes the IME sends to the terminal for ``keys`` (see the module docstring)."""
    form: Literal["NFC", "NFD"] = "NFD" if decomposed else "NFC"
    shown = ""
    out = bytearray()
    for text in keystrokes(keys, method):
        now = unicodedata.normalize(form, text)
        common = 0
        while common < min(len(shown), len(now)) and shown[common] == now[common]:
            common += 1
        out += backspace * (len(shown) - common)
        out += now[common:].encode("utf-8")
        shown = now
    return bytes(out)


def final_text(keys: str, method: str) -> str:
    *_, last = keystrokes(keys, method)
    return last
