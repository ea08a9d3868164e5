"""Text at the boundaries: NFC, cleaning, accent-insensitive search keys, Vietnamese dates and money.

Why this module exists:

* Textual's ``Input`` edits by code point, so an NFD "Huế" loses only its accent on Backspace
  (Textualize/textual#4694). Everything we store is therefore NFC, normalised at every boundary
  with :func:`nfc` / :func:`clean_text`.
* SQLite's ``LIKE``, ``NOCASE`` and ``lower()`` fold ASCII only: ``'Đồng' LIKE 'đồng'`` is 0 and
  ``lower('ĐỒNG')`` is ``'ĐỒng'`` (https://sqlite.org/c3ref/strlike.html). Search therefore runs
  over a stored ``search_key`` column (pure ASCII ``[a-z0-9 ]``) built here, optionally through an
  FTS5 index queried with :func:`fts_query`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from onestop.domain.fields import forbidden_char
from onestop.i18n import get_language, t

__all__ = [
    "clean_text",
    "date_vi",
    "datetime_vi",
    "format_vnd",
    "fts_query",
    "nfc",
    "search_key",
]

# Whitespace controls that clean_text turns into a space instead of rejecting: a USB scanner or a
# paste from a spreadsheet routinely brings tabs and line breaks into a one-line field.
_SOFT_CONTROLS = frozenset("\t\n\r")

# Invisible format characters that text pasted from Word or a web page brings along (zero-width
# space/joiners, word joiner, BOM, soft hyphen). They are dropped: invisible in the UI, they would
# otherwise split "Ng\u200buyễn" into two search tokens.
_INVISIBLE = str.maketrans(dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad")))

# Everything outside [a-z0-9] separates tokens. Applied after accent stripping, so the key is
# plain ASCII and tokenises identically in Python, in an indexed LIKE 'x%' and in FTS5 unicode61.
_NON_KEY_RUN = re.compile(r"[^a-z0-9]+")

# 'đ' has no decomposition in Unicode, so NFD leaves it alone; map it by hand. 'ð' (U+00F0, the
# Icelandic eth, lower case of 'Ð' U+00D0) is included because legacy TCVN3/VNI conversions often
# produce 'Ð' where 'Đ' was meant, and a clerk typing "dong" must still find such a record.
_D_MAP = str.maketrans({"đ": "d", "ð": "d"})


def nfc(s: str) -> str:
    """NFC-normalise and strip; the minimum applied to every string entering the system."""
    return unicodedata.normalize("NFC", s).strip()


def clean_text(s: str, *, max_len: int = 500) -> str:
    """Normalise a one-line text field: NFC, single spaces, no control characters.

    Tabs and line breaks collapse into a space (pasted or scanned text carries them) and invisible
    zero-width characters are dropped. Any other control character (NUL, ESC, DEL, C1 controls),
    a bidirectional override/isolate/mark or a lone surrogate (cannot be stored as UTF-8) raises
    ``ValueError`` with a message the clerk can read. The same character rule as the per-field
    policy of ``domain/fields.py`` (:func:`onestop.domain.fields.clean_field`), which event
    fields use.
    """
    for ch in s:
        if ch in _SOFT_CONTROLS:
            continue
        if forbidden_char(ch) is not None:
            raise ValueError(
                t(
                    "Nội dung có ký tự điều khiển không hợp lệ (mã U+{code}).",
                    code=f"{ord(ch):04X}",
                )
            )
    # str.split() with no argument splits on every Unicode whitespace run (incl. NBSP, U+2028).
    out = " ".join(unicodedata.normalize("NFC", s.translate(_INVISIBLE)).split())
    if len(out) > max_len:
        raise ValueError(
            t(
                "Nội dung quá dài: tối đa {max_len} ký tự (đang có {n}).",
                max_len=max_len,
                n=len(out),
            )
        )
    return out


# The Combining Diacritical Marks block (all Mn): every mark of Vietnamese after NFD.
_BASIC_MARKS = re.compile("[\u0300-\u036f]")


def _key_one(s: str) -> str:
    folded = unicodedata.normalize("NFD", s.casefold())
    # Drop combining marks (Mn: Vietnamese tone marks, circumflex, breve and the horn of ư/ơ after
    # NFD) and invisible format characters (Cf, e.g. U+200B), then map đ/ð. Vietnamese text is
    # plain ASCII once the basic marks are gone and đ mapped, and ASCII holds no Mn or Cf
    # character: then the per-character category loop (~0.1 ms a name) has nothing to drop.
    stripped = _BASIC_MARKS.sub("", folded).translate(_D_MAP)
    if not stripped.isascii():
        stripped = "".join(
            ch for ch in folded if unicodedata.category(ch) not in ("Mn", "Cf")
        ).translate(_D_MAP)
    return _NON_KEY_RUN.sub(" ", stripped).strip()


def search_key(*parts: str | None) -> str:
    """Accent- and case-insensitive ASCII search key; ``None`` and empty parts are skipped.

    >>> search_key("Nguyễn Văn An", None, "Đồng Tháp")
    'nguyen van an dong thap'
    >>> search_key("000.00.14.H56-260224-0001")
    '000 00 14 h56 260224 0001'

    The result contains only ``[a-z0-9]`` tokens separated by single spaces, so the function is
    idempotent and the key can be compared, prefix-matched or FTS-indexed without collations.
    """
    keys = (_key_one(p) for p in parts if p)
    return " ".join(k for k in keys if k)


def fts_query(user_text: str) -> str | None:
    """Turn what a clerk types into a safe FTS5 ``MATCH`` expression over ``search_key`` columns.

    Every token becomes a quoted prefix term, implicitly ANDed: ``"nguyen"* "van"*``. Tokens are
    ``[a-z0-9]+`` only, so FTS5 operators typed by the user (``AND``/``OR``/``NEAR``, quotes,
    parentheses, ``*``, ``^``, column filters) are neutralised: after ``search_key`` they are plain
    lower-case words inside quotes. Returns ``None`` when nothing searchable remains, so the caller
    can skip the query instead of sending an empty ``MATCH`` (which FTS5 rejects).
    """
    tokens = search_key(user_text).split()
    if not tokens:
        return None
    return " ".join(f'"{t}"*' for t in tokens)


def format_vnd(amount: int) -> str:
    """Format whole đồng the Vietnamese way: ``1234567`` -> ``"1.234.567 đ"``.

    Amounts are integers on purpose: VND has no minor unit in practice, and floats would drift
    in fee totals.
    """
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " đ"


def date_vi(d: date) -> str:
    """Date as printed on administrative documents (NĐ 30/2020/NĐ-CP, Phụ lục I).

    Days below 10 and the months 1 and 2 take a leading zero; other months do not:
    "ngày 05 tháng 02 năm 2026", "ngày 15 tháng 3 năm 2026", "ngày 24 tháng 11 năm 2026".
    (The zero keeps "tháng 1"/"tháng 2" from being altered into "tháng 11"/"tháng 12" by hand.)
    """
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year:04d}"


def datetime_vi(dt: datetime) -> str:
    """Time and date for receipts: "10 giờ 00 phút, ngày 05 tháng 02 năm 2026".

    Hours and minutes are two digits ("08 giờ 05 phút"), as on the printed slips. The value is
    formatted as given: convert an aware datetime to local desk time before calling.
    """
    return f"{dt.hour:02d} giờ {dt.minute:02d} phút, {date_vi(dt.date())}"


# Dates on screens follow the chosen language; the printed slips keep ``date_vi`` and
# ``datetime_vi`` (official forms are in Vietnamese whatever the desk's language).
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_name(n: int) -> str:
    """Month ``n`` as a period label names it: "03" or "11" in Vietnamese ("Tháng 03"), where
    the forms' leading zero for January and February applies; "March" in English."""
    if get_language() == "en":
        return _MONTHS_EN[n - 1]
    return f"{n:02d}" if n <= 2 else str(n)


def date_text(d: date) -> str:
    """A date on a screen: ``date_vi`` in Vietnamese, "20 November 2026" in English."""
    if get_language() == "en":
        return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year:04d}"
    return date_vi(d)


def datetime_text(dt: datetime) -> str:
    """A time and date on a screen: ``datetime_vi`` in Vietnamese ("09 giờ 30 phút, ngày 07
    tháng 12 năm 2026"), "09:30, 7 December 2026" in English."""
    if get_language() == "en":
        return f"{dt.hour:02d}:{dt.minute:02d}, {date_text(dt.date())}"
    return datetime_vi(dt)
