import sqlite3
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.text import (
    clean_text,
    date_vi,
    datetime_vi,
    format_vnd,
    fts_query,
    nfc,
    search_key,
)


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# --- nfc / clean_text ---------------------------------------------------------------------------


def test_nfc_composes_and_strips() -> None:
    decomposed = nfd("  Huế ")
    assert decomposed.strip() != "Huế"  # precondition: really NFD
    assert nfc(decomposed) == "Huế"


def test_clean_text_collapses_whitespace_and_normalises() -> None:
    assert clean_text(nfd("  Nguyễn\t Văn \n\n An\u00a0 ")) == "Nguyễn Văn An"


@pytest.mark.parametrize("bad", ["a\x00b", "esc\x1b[31m", "del\x7f", "c1\x85", "\ud800"])
def test_clean_text_rejects_control_chars(bad: str) -> None:
    with pytest.raises(ValueError, match="ký tự điều khiển"):
        clean_text(bad)


def test_clean_text_drops_invisible_format_chars() -> None:
    assert clean_text("\ufeffNg\u200buyễn\u00ad Văn") == "Nguyễn Văn"


def test_clean_text_max_len() -> None:
    assert clean_text("a" * 10, max_len=10) == "a" * 10
    with pytest.raises(ValueError, match="tối đa 10 ký tự"):
        clean_text("a" * 11, max_len=10)


# --- search_key -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("Đồng", "dong"),
        ("ĐỒNG THÁP", "dong thap"),
        ("Ðồng", "dong"),  # U+00D0 (eth) left behind by legacy TCVN3/VNI conversions
        ("000.00.14.H56-260224-0001", "000 00 14 h56 260224 0001"),
        ("  Lê---Thị (Hoa)!! ", "le thi hoa"),
        ("Nguyễn 😀 An", "nguyen an"),
        ("Phường Hưng Lợi", "phuong hung loi"),  # the horn of ư/ơ is a combining mark too
        ("Ng\u200buyễn", "nguyen"),  # zero-width space from a paste
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_search_key(text: str, key: str) -> None:
    assert search_key(text) == key


def test_search_key_case_and_normalisation_insensitive() -> None:
    forms = ["HUẾ", "huế", "Huế", nfd("Huế"), nfd("HUẾ"), "hue"]
    assert {search_key(f) for f in forms} == {"hue"}


def test_search_key_joins_parts_and_skips_none() -> None:
    assert search_key("Nguyễn Văn An", None, "", "Đồng Tháp") == "nguyen van an dong thap"
    assert search_key() == ""
    assert search_key(None) == ""


def test_clerk_typing_matches_stored_key() -> None:
    stored = search_key("Nguyễn Văn An")
    assert search_key("nguyen van an") == stored
    assert search_key("NGUYỄN VĂN AN") == stored


@given(st.text())
def test_search_key_idempotent_and_ascii(s: str) -> None:
    k = search_key(s)
    assert search_key(k) == k
    assert k == k.strip()
    assert "  " not in k
    assert all(c == " " or c.isascii() and c.isalnum() and not c.isupper() for c in k)


# --- fts_query against a real FTS5 table ----------------------------------------------------------

NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Đồng", "Nguyễn Thị Anh Thư"]


def _has_fts5() -> bool:
    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()
    return True


pytestmark_fts = pytest.mark.skipif(not _has_fts5(), reason="SQLite built without FTS5")


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE people USING fts5(name, key)")
    con.executemany(
        "INSERT INTO people (name, key) VALUES (?, ?)", [(n, search_key(n)) for n in NAMES]
    )
    yield con
    con.close()


def _search(con: sqlite3.Connection, typed: str) -> set[str]:
    q = fts_query(typed)
    if q is None:
        return set()
    rows = con.execute("SELECT name FROM people WHERE key MATCH ?", (q,)).fetchall()
    return {r[0] for r in rows}


def test_fts_query_shape() -> None:
    assert fts_query("Nguyễn Văn An") == '"nguyen"* "van"* "an"*'
    assert fts_query('  "" () * ') is None
    assert fts_query("") is None


@pytestmark_fts
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("nguyen van", {"Nguyễn Văn An"}),
        ("NGUYEN an", {"Nguyễn Văn An", "Nguyễn Thị Anh Thư"}),  # "an" is a prefix of "anh"
        ("văn", {"Nguyễn Văn An", "Lê Văn Đồng"}),
        ("dong", {"Lê Văn Đồng"}),
        ("ĐỒNG", {"Lê Văn Đồng"}),
        ("ngu", {"Nguyễn Văn An", "Nguyễn Thị Anh Thư"}),
        ("thi OR", set()),  # OR is a word to find, not an operator
        ("xyz", set()),
    ],
)
def test_fts_query_finds(fts: sqlite3.Connection, typed: str, expected: set[str]) -> None:
    assert _search(fts, typed) == expected


@pytestmark_fts
@pytest.mark.parametrize(
    "typed",
    ['"', "'", "(", ")", "*", "AND", "OR", "NOT", "NEAR(a b)", 'a"b', "^a", "key:an", "-a", "😀"],
)
def test_fts_query_operators_are_harmless(fts: sqlite3.Connection, typed: str) -> None:
    _search(fts, typed)  # must not raise sqlite3.OperationalError


@pytestmark_fts
@settings(max_examples=300)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("\"'()*:^-+{}[],. AND OR NOT NEAR")), st.characters()
        ),
        max_size=40,
    )
)
def test_fts_query_never_a_syntax_error(fts: sqlite3.Connection, typed: str) -> None:
    _search(fts, typed)


# --- money and dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0 đ"),
        (999, "999 đ"),
        (1000, "1.000 đ"),
        (1234567, "1.234.567 đ"),
        (-50000, "-50.000 đ"),
    ],
)
def test_format_vnd(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (date(2026, 2, 5), "ngày 05 tháng 02 năm 2026"),
        (date(2026, 3, 15), "ngày 15 tháng 3 năm 2026"),
        (date(2026, 1, 1), "ngày 01 tháng 01 năm 2026"),
        (date(2026, 11, 24), "ngày 24 tháng 11 năm 2026"),
        (date(2026, 12, 9), "ngày 09 tháng 12 năm 2026"),
        (date(2026, 10, 10), "ngày 10 tháng 10 năm 2026"),
    ],
)
def test_date_vi(d: date, text: str) -> None:
    assert date_vi(d) == text


def test_datetime_vi() -> None:
    assert datetime_vi(datetime(2026, 2, 5, 10, 0)) == "10 giờ 00 phút, ngày 05 tháng 02 năm 2026"
    assert datetime_vi(datetime(2026, 7, 1, 8, 5)) == "08 giờ 05 phút, ngày 01 tháng 7 năm 2026"
