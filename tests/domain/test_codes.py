from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from onestop.domain.codes import (
    PROCEDURE_CODE_RE,
    UNIT_EID_RE,
    DossierCode,
    make_dossier_code,
    national_procedure_code,
    parse_dossier_code,
    validate_procedure_code,
    validate_unit_eid,
)

DAY = date(2026, 2, 24)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
desks = st.integers(min_value=1, max_value=99)
counters = st.one_of(
    st.integers(min_value=1, max_value=10_999),  # around the 4 -> 5 digit step
    st.integers(min_value=1, max_value=10**10 - 1),
)
unit_eids = st.from_regex(r"\A[0-9A-Z]{1,5}(\.[0-9A-Z]{1,5}){0,4}\Z")


# --- unit electronic ID ----------------------------------------------------------------------------


@pytest.mark.parametrize("eid", ["000.00.14.H56", "H56.14", "H56", "000.00.00.H56", "A" * 35])
def test_valid_unit_eids(eid: str) -> None:
    assert validate_unit_eid(eid) == eid
    assert UNIT_EID_RE.fullmatch(eid)


def test_unit_eid_is_normalised() -> None:
    assert validate_unit_eid("  000.00.14.h56 ") == "000.00.14.H56"


@pytest.mark.parametrize(
    "eid",
    [
        "",
        ".H56",
        "H56.",
        "000..14.H56",
        "H56-14",
        "H 56",
        "A" * 36,
        "000.00.14.H56\n.X",
        "H5ı",
        "Đ56",
    ],
)
def test_invalid_unit_eids(eid: str) -> None:
    with pytest.raises(ValueError, match="Mã định danh đơn vị"):
        validate_unit_eid(eid)


# --- dossier code -------------------------------------------------------------------------------


def test_make_dossier_code_format() -> None:
    assert make_dossier_code("000.00.14.H56", DAY, 1, 1) == "000.00.14.H56-260224-010001"
    assert make_dossier_code("H56.14", DAY, 12, 9999) == "H56.14-260224-129999"
    # "At least 4 digits, longer as needed": the counter grows past 9999.
    assert make_dossier_code("H56.14", DAY, 12, 10000) == "H56.14-260224-1210000"
    assert make_dossier_code("h56.14", date(2026, 1, 5), 3, 42) == "H56.14-260105-030042"


@pytest.mark.parametrize(
    ("desk", "counter"), [(0, 1), (100, 1), (-1, 1), (1, 0), (1, -5), (True, 1), (1, 10**10)]
)
def test_make_dossier_code_rejects_bad_numbers(desk: int, counter: int) -> None:
    with pytest.raises(ValueError):
        make_dossier_code("H56", DAY, desk, counter)


def test_make_dossier_code_rejects_bad_unit_and_year() -> None:
    with pytest.raises(ValueError):
        make_dossier_code("H56-14", DAY, 1, 1)
    with pytest.raises(ValueError, match="2000-2099"):
        make_dossier_code("H56", date(1999, 12, 31), 1, 1)


def test_parse_dossier_code() -> None:
    parsed = parse_dossier_code("000.00.14.H56-260224-030017")
    assert parsed == DossierCode(unit_eid="000.00.14.H56", day=DAY, desk_no=3, counter=17)
    assert str(parsed) == "000.00.14.H56-260224-030017"
    assert parse_dossier_code(" 000.00.14.h56-260224-0312345 ").counter == 12345


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "000.00.14.H56-260224-0001",  # legacy 4-digit sequence: no desk number
        "000.00.14.H56-260224",
        "000.00.14.H56-260224-030017-1",
        "000.00.14.H56-260230-030017",  # 30 February
        "000.00.14.H56-26022-030017",
        "000.00.14.H56-260224-000017",  # desk 00
        "000.00.14.H56-260224-030000",  # counter 0
        "000.00.14.H56-260224-0300017",  # counter with an extra leading zero: not canonical
        "000.00.14.H56-260224-03001A",
        "000.00.14.H56-260224-03 0017",
        "000.00.14.H5ı-260224-030017",
        "000.00.14.H56-２60224-030017",
        "-260224-030017",
        "000.00.14.H56-260224-03" + "1" * 20,
    ],
)
def test_parse_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="Mã"):
        parse_dossier_code(junk)


@given(unit_eids, days, desks, counters)
def test_round_trip(eid: str, day: date, desk: int, counter: int) -> None:
    code = make_dossier_code(eid, day, desk, counter)
    assert parse_dossier_code(code) == DossierCode(eid, day, desk, counter)
    assert parse_dossier_code(code.lower()) == DossierCode(eid, day, desk, counter)
    assert len(code.rsplit("-", 1)[1]) >= 6


@given(unit_eids, desks, desks, days, days, counters, counters)
def test_two_desks_of_one_unit_never_collide(
    eid: str, desk_a: int, desk_b: int, day_a: date, day_b: date, n_a: int, n_b: int
) -> None:
    # Both desks offline, any dates, any counters: still distinct codes.
    assume(desk_a != desk_b)
    assert make_dossier_code(eid, day_a, desk_a, n_a) != make_dossier_code(eid, day_b, desk_b, n_b)


@given(unit_eids, desks, days, days, counters, counters)
def test_one_desk_distinct_day_or_counter_gives_distinct_codes(
    eid: str, desk: int, day_a: date, day_b: date, n_a: int, n_b: int
) -> None:
    assume((day_a, n_a) != (day_b, n_b))
    assert make_dossier_code(eid, day_a, desk, n_a) != make_dossier_code(eid, day_b, desk, n_b)


@given(st.text(max_size=40))
def test_parse_only_raises_value_error(text: str) -> None:
    try:
        parsed = parse_dossier_code(text)
    except ValueError:
        return
    assert parse_dossier_code(str(parsed)) == parsed


# --- procedure codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "national"),
    [
        ("1.001193", "1.001193"),
        ("2.000815", "2.000815"),
        ("1.001193.000.00.00.H56", "1.001193"),
        ("2.002621.H56", "2.002621"),
        ("2.002621.h56", "2.002621"),
        ("LT.000001", None),
        (" lt.000001 ", None),
    ],
)
def test_valid_procedure_codes(code: str, national: str | None) -> None:
    assert validate_procedure_code(code) == code.strip().upper()
    assert PROCEDURE_CODE_RE.fullmatch(code.strip().upper())
    assert national_procedure_code(code) == national


@pytest.mark.parametrize(
    "code",
    [
        "",
        "1.00119",
        "1.0011930",
        "12.001193",
        "1001193",
        "1.001193.",
        "1.001193..H56",
        "H56.14",
        "L.000001",
        "1.001193-H56",
        "1.00119３",
    ],
)
def test_invalid_procedure_codes(code: str) -> None:
    with pytest.raises(ValueError, match="Mã thủ tục"):
        validate_procedure_code(code)
