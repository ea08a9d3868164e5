"""Dossier codes (mã hồ sơ) that never collide offline, unit electronic IDs and procedure codes.

Dossier code scheme
-------------------

``{unit_eid}-{YYMMDD}-{DD}{NNNN}``, for example ``000.00.14.H56-260224-030017``:

* ``unit_eid`` — the receiving unit's electronic ID (mã định danh điện tử, QĐ 20/2020/QĐ-TTg):
  at most 35 characters of ``[0-9A-Z.]`` in non-empty dot-separated groups, e.g.
  ``000.00.14.H56`` (legacy, read right to left) or ``H56.14``. It never contains ``-``, so the
  code splits unambiguously on its last two hyphens.
* ``YYMMDD`` — the receipt date (years 2000-2099).
* ``DD`` — the desk number, ``01``-``99``, always two digits. The province assigns it to each
  desk of a unit at enrolment (or ``onestop init`` does for a stand-alone unit); no two desks of
  one unit share a number.
* ``NNNN`` — the desk's own daily counter, starting at 1, zero-padded to at least 4 digits and
  simply growing longer after 9999 ("ít nhất 4 chữ số, tăng thêm khi cần", TT 04/2025/TT-VPCP).

The sequence part ``DDNNNN`` is therefore at least 6 digits, which satisfies "at least 4 digits".
Two desks of one unit never issue the same code, even while both are offline: the fixed-width desk
number is part of every sequence, and each desk's counter strictly increases within a day. No
reserved ranges, no coordination and no renumbering at sync time are needed, and the daily
counter stays per desk, as clerks expect.

**A desk that has no number yet** (initialised without ``--desk-no``, not yet enrolled) uses
the reserved desk number ``00`` followed by its own 6-digit random tag, drawn once at
``onestop init``: ``{unit_eid}-{YYMMDD}-00{TTTTTT}{NNNN}``, for example
``000.00.14.H56-260224-004711930001``. It cannot clash with a numbered desk (none is ``00``:
the province numbers desks 01-99), and two unnumbered desks of one unit clash only if they
drew the same tag (one chance in a million per pair) *and* are both used before enrolment.
The sequence is still digits only and longer than 4, so the regulated shape
``<agency ID>-<YYMMDD>-<daily sequence>`` holds. Enrolment gives the desk its real number;
the codes it issued before keep their provisional form (they are printed on receipts).

This is the general format (ND 61/2018: agency ID + receipt date + daily sequence). The
``AAXXXX`` variant of TT 04/2025 clause 3 is for procedures run on centralised national systems,
whose codes those systems issue themselves; an imported code of another shape is kept as an
opaque string and never parsed with :func:`parse_dossier_code`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from onestop.i18n import t

__all__ = [
    "PROCEDURE_CODE_RE",
    "UNIT_EID_RE",
    "PROVISIONAL_DESK_NO",
    "TAG_MAX",
    "DossierCode",
    "make_dossier_code",
    "national_procedure_code",
    "parse_dossier_code",
    "validate_procedure_code",
    "validate_unit_eid",
]

_EID_BODY = r"[0-9A-Z]+(?:\.[0-9A-Z]+)*"
# Use with .fullmatch(): the look-ahead caps the length at 35 (QĐ 20/2020 Art. 4).
UNIT_EID_RE = re.compile(rf"(?=[0-9A-Z.]{{1,35}}\Z){_EID_BODY}")

# National code d.dddddd, optionally localised with a unit ID suffix (".000.00.00.H56", ".H56");
# or a province-local code such as "LT.000001" (letters, dot, 6 digits).
PROCEDURE_CODE_RE = re.compile(
    rf"(?P<national>[0-9]\.[0-9]{{6}})(?:\.(?=[0-9A-Z.]{{1,35}}\Z){_EID_BODY})?"
    r"|(?P<local>[A-Z]{2,10}\.[0-9]{6})"
)

_YYMMDD = re.compile(r"[0-9]{6}")
# Desk (2) + counter (4..10 digits), or 00 + tag (6) + counter for a desk without a number. The
# cap keeps int() far from Python's 4300-digit limit and is never reached: 10**10 - 1 dossiers
# from one desk in one day.
_SEQ = re.compile(r"[0-9]{6,18}")
PROVISIONAL_DESK_NO = 0  # reserved: "no number yet" (never assigned by the province)
_TAG_WIDTH = 6
TAG_MAX = 10**_TAG_WIDTH - 1
_COUNTER_WIDTH = 4
_COUNTER_MAX = 10**10 - 1
_DESK_MIN, _DESK_MAX = 1, 99


def validate_unit_eid(s: str) -> str:
    """Return the normalised unit electronic ID (stripped, upper case) or raise ``ValueError``."""
    v = s.strip().upper()
    # isascii() first: str.upper() maps some non-ASCII letters to ASCII ("ﬁ" -> "FI").
    if not (s.strip().isascii() and UNIT_EID_RE.fullmatch(v)):
        raise ValueError(
            t(
                "Mã định danh đơn vị {eid} không hợp lệ: tối đa 35 ký tự gồm chữ số, "
                "chữ in hoa và dấu chấm, các nhóm ngăn cách bởi một dấu chấm (ví dụ 000.00.14.H56).",
                eid=repr(s.strip()),
            )
        )
    return v


@dataclass(frozen=True)
class DossierCode:
    """The parts of a dossier code; ``str()`` gives the code back."""

    unit_eid: str
    day: date
    desk_no: int
    counter: int
    tag: int | None = None  # only for desk 00 (no number yet): its 6-digit tag

    def __str__(self) -> str:
        return make_dossier_code(self.unit_eid, self.day, self.desk_no, self.counter, tag=self.tag)

    @property
    def provisional(self) -> bool:
        return self.desk_no == PROVISIONAL_DESK_NO


def make_dossier_code(
    unit_eid: str, day: date, desk_no: int, counter: int, *, tag: int | None = None
) -> str:
    """Build ``{unit_eid}-{YYMMDD}-{DD}{NNNN}``; ``ValueError`` on any out-of-range part.

    ``desk_no`` 0 (a desk with no number yet) needs its ``tag``: ``...-00{TTTTTT}{NNNN}``.
    """
    eid = validate_unit_eid(unit_eid)
    provisional = desk_no == PROVISIONAL_DESK_NO and not isinstance(desk_no, bool)
    if provisional and (
        tag is None or isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= TAG_MAX
    ):
        raise ValueError(
            t("Quầy chưa có số hiệu cần mã tạm 6 chữ số (đang là {tag}).", tag=repr(tag))
        )
    # bool is an int subclass; True as a desk number is a bug upstream, not desk 1.
    if not provisional and (isinstance(desk_no, bool) or not _DESK_MIN <= desk_no <= _DESK_MAX):
        raise ValueError(
            t("Số hiệu quầy phải từ 1 đến 99 (đang là {desk_no}).", desk_no=repr(desk_no))
        )
    if isinstance(counter, bool) or not 1 <= counter <= _COUNTER_MAX:
        raise ValueError(
            t(
                "Số thứ tự hồ sơ trong ngày phải từ 1 đến {max} (đang là {counter}).",
                max=_COUNTER_MAX,
                counter=repr(counter),
            )
        )
    if not 2000 <= day.year <= 2099:
        # YYMMDD cannot tell 1926 from 2026; refuse rather than issue an ambiguous code.
        raise ValueError(
            t("Ngày tiếp nhận {day} nằm ngoài khoảng năm 2000-2099.", day=day.isoformat())
        )
    desk = f"00{tag:0{_TAG_WIDTH}d}" if provisional and tag is not None else f"{desk_no:02d}"
    return f"{eid}-{day:%y%m%d}-{desk}{counter:0{_COUNTER_WIDTH}d}"


def parse_dossier_code(code: str) -> DossierCode:
    """Inverse of :func:`make_dossier_code`; accepts lower case, rejects anything non-canonical.

    Non-canonical spellings (a counter with extra leading zeros) are rejected so that one
    dossier has exactly one code string. Desk ``00`` is the provisional form ``00{tag}{NNNN}``.
    """
    raw = code.strip()
    parts = raw.upper().split("-")
    # isascii() before trusting upper(): "ı".upper() == "I" would smuggle a letter in.
    if not raw.isascii() or len(parts) != 3:
        raise ValueError(
            t(
                "Mã hồ sơ {code} không đúng dạng <mã đơn vị>-<YYMMDD>-<quầy><số thứ tự>.",
                code=repr(raw),
            )
        )
    eid_s, ymd, seq = parts
    eid = validate_unit_eid(eid_s)
    if not _YYMMDD.fullmatch(ymd):
        raise ValueError(
            t(
                "Mã hồ sơ {code}: phần ngày {ymd} phải gồm 6 chữ số YYMMDD.",
                code=repr(raw),
                ymd=repr(ymd),
            )
        )
    try:
        day = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        raise ValueError(
            t("Mã hồ sơ {code}: ngày {ymd} không có thật.", code=repr(raw), ymd=repr(ymd))
        ) from None
    if not _SEQ.fullmatch(seq):
        raise ValueError(
            t(
                "Mã hồ sơ {code}: phần số thứ tự {seq} phải gồm 6 đến 12 chữ số "
                "(2 chữ số quầy, rồi số thứ tự).",
                code=repr(raw),
                seq=repr(seq),
            )
        )
    desk_no, counter_s = int(seq[:2]), seq[2:]
    tag: int | None = None
    if desk_no == PROVISIONAL_DESK_NO:
        tag, counter_s = int(seq[2 : 2 + _TAG_WIDTH]), seq[2 + _TAG_WIDTH :]
    counter = int(counter_s) if counter_s else 0
    canonical = len(counter_s) == _COUNTER_WIDTH or (
        len(counter_s) > _COUNTER_WIDTH and not counter_s.startswith("0")
    )
    if counter < 1 or not canonical or int(counter_s) > _COUNTER_MAX:
        raise ValueError(
            t(
                "Mã hồ sơ {code}: số quầy hoặc số thứ tự {seq} không hợp lệ.",
                code=repr(raw),
                seq=repr(seq),
            )
        )
    return DossierCode(unit_eid=eid, day=day, desk_no=desk_no, counter=counter, tag=tag)


def validate_procedure_code(s: str) -> str:
    """Return the normalised procedure code (mã TTHC) or raise ``ValueError``.

    Accepts ``1.001193``, localised ``1.001193.000.00.00.H56`` / ``2.002621.H56`` and local codes
    such as ``LT.000001``. Codes change when a ministry re-publishes a procedure, so callers keep
    the code together with the catalogue version.
    """
    v = s.strip().upper()
    if not (s.isascii() and PROCEDURE_CODE_RE.fullmatch(v)):
        raise ValueError(
            t(
                "Mã thủ tục {code} không hợp lệ: cần dạng d.dddddd (ví dụ 1.001193), "
                "có thể kèm mã đơn vị (1.001193.H56), hoặc mã địa phương (ví dụ LT.000001).",
                code=repr(s.strip()),
            )
        )
    return v


def national_procedure_code(s: str) -> str | None:
    """The national ``d.dddddd`` part of a (possibly localised) code; ``None`` for local codes."""
    m = PROCEDURE_CODE_RE.fullmatch(validate_procedure_code(s))
    assert m is not None  # validate_procedure_code just matched it
    return m.group("national")
