import pickle
import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.cccd import (
    COUNTRY_CODES,
    PROVINCE_CODES_PRE_2025,
    CccdError,
    CccdInfo,
    ChipQr,
    normalize_sex,
    parse_cccd,
    parse_chip_qr,
    validate_cccd,
)

TODAY = date(2026, 3, 1)
SAMPLE_QR = (
    "001099012345|123456789|Nguyễn Văn An|01011999|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|15082021"
)


def err(number: str, **kw: object) -> CccdError:
    with pytest.raises(CccdError) as ei:
        parse_cccd(number, today=TODAY, **kw)  # type: ignore[arg-type]
    return ei.value


# --- tables ----------------------------------------------------------------------------------------


def test_tables() -> None:
    assert len(PROVINCE_CODES_PRE_2025) == 63
    assert PROVINCE_CODES_PRE_2025["15"] == "Yên Bái"  # the old meaning, not today's Lào Cai
    # The 34 post-2025 province codes (QĐ 19/2025/QĐ-TTg) are a subset of the old table.
    new_codes = "01 04 08 11 12 14 15 19 20 22 24 25 31 33 37 38 40 42 44 46 48 51 52 56 66 68 75 79 80 82 86 91 92 96"
    assert set(new_codes.split()) <= set(PROVINCE_CODES_PRE_2025)
    assert min(COUNTRY_CODES) == "101" and max(COUNTRY_CODES) == "295"
    assert len(COUNTRY_CODES) == 195
    names = list(PROVINCE_CODES_PRE_2025.values()) + [n for _, n in COUNTRY_CODES.values()]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


# --- valid numbers ---------------------------------------------------------------------------------


def test_male_1999_ha_noi() -> None:
    assert parse_cccd("001099012345", today=TODAY) == CccdInfo(
        number="001099012345",
        place_code="001",
        place_name="Hà Nội",
        born_abroad=False,
        sex="nam",
        century=1900,
        birth_year=1999,
    )


def test_female_2001_hcm() -> None:
    info = parse_cccd("079301000123", today=TODAY)
    assert (info.place_name, info.sex, info.century, info.birth_year) == (
        "Hồ Chí Minh",
        "nữ",
        2000,
        2001,
    )
    assert info.province_code == "79"
    assert not info.born_abroad


def test_female_1900s_and_male_2000s() -> None:
    assert parse_cccd("038185000001", today=TODAY).sex == "nữ"
    assert parse_cccd("038185000001", today=TODAY).birth_year == 1985
    info = parse_cccd("046210000001", today=TODAY)
    assert (info.sex, info.birth_year, info.place_name) == ("nam", 2010, "Thừa Thiên Huế")


def test_born_abroad_country_code() -> None:
    info = parse_cccd("175095001234", today=TODAY)
    assert info.born_abroad
    assert info.place_code == "175"
    assert info.place_name == "Hoa Kỳ"
    assert info.province_code is None
    assert parse_cccd("232302000001", today=TODAY).place_name == "Nhật Bản"


def test_spaces_are_ignored() -> None:
    assert parse_cccd(" 001 099 012 345\n", today=TODAY).number == "001099012345"


def test_declared_values_that_agree() -> None:
    for sex in ["nam", "Nam", "NAM", "male", unicodedata.normalize("NFD", "Nam")]:
        parse_cccd("001099012345", today=TODAY, birth_year=1999, sex=sex)
    for sex in ["nữ", "Nữ", "NỮ", "female", "nu", unicodedata.normalize("NFD", "Nữ")]:
        parse_cccd("079301000123", today=TODAY, birth_year=2001, sex=sex)


def test_birth_year_equal_to_this_year_is_fine() -> None:
    assert parse_cccd("001226000001", today=TODAY).birth_year == 2026


# --- each kind of error ----------------------------------------------------------------------------


def test_length() -> None:
    e = err("00109901234")
    assert e.code == "length"
    assert str(e) == "Số CCCD phải có đúng 12 chữ số (đang có 11)."
    assert err("0010990123456").code == "length"


def test_non_digit() -> None:
    e = err("00109901234O")
    assert e.code == "non_digit"
    assert str(e) == "Số CCCD chỉ gồm chữ số; có ký tự không hợp lệ: 'O'."
    # Non-ASCII digits (Arabic-Indic, full-width) are not digits on a card.
    assert err("00109901234٣").code == "non_digit"
    assert err("００１099012345").code == "non_digit"


def test_empty() -> None:
    assert err("   ").code == "empty"


@pytest.mark.parametrize(
    "number",
    [
        "003099012345",
        "000099012345",
        "099099012345",
        "100099012345",
        "296099012345",
        "840099012345",
    ],
)
def test_unknown_place(number: str) -> None:
    e = err(number)
    assert e.code == "unknown_place"
    assert f"'{number[:3]}'" in str(e)


@pytest.mark.parametrize("g", "6789")
def test_century(g: str) -> None:
    e = err(f"001{g}99012345")
    assert e.code == "century"
    assert "thế kỷ" in str(e)


def test_future_year() -> None:
    e = err("001230012345")  # born 2030 per the number
    assert e.code == "future_year"
    assert "2030" in str(e) and "2026" in str(e)
    assert err("001499012345").code == "future_year"  # 2199
    # The check follows the clock it is given.
    assert parse_cccd("001230012345", today=date(2030, 1, 1)).birth_year == 2030


def test_birth_year_mismatch() -> None:
    e = err("001099012345", birth_year=2000)
    assert e.code == "birth_year_mismatch"
    assert str(e) == "Số CCCD cho năm sinh 1999, nhưng năm sinh đã khai là 2000."


def test_gender_mismatch() -> None:
    e = err("001099012345", sex="Nữ")
    assert e.code == "gender_mismatch"
    assert str(e) == "Số CCCD cho giới tính Nam, nhưng giới tính đã khai là Nữ."
    assert err("079301000123", sex="male").code == "gender_mismatch"


def test_invalid_sex_value() -> None:
    assert err("001099012345", sex="khác").code == "invalid_sex"


def test_error_is_a_value_error_and_pickles() -> None:
    e = err("1")
    assert isinstance(e, ValueError)
    back = pickle.loads(pickle.dumps(e))
    assert (back.code, str(back)) == (e.code, str(e))


def test_validate_cccd() -> None:
    assert validate_cccd("001099012345", today=TODAY) == []
    assert validate_cccd("00109901234", today=TODAY) == [
        "Số CCCD phải có đúng 12 chữ số (đang có 11)."
    ]
    assert validate_cccd("001099012345", today=TODAY, sex="nữ") == [
        "Số CCCD cho giới tính Nam, nhưng giới tính đã khai là Nữ."
    ]


def test_normalize_sex() -> None:
    assert normalize_sex(" Nữ ") == "nữ"
    assert normalize_sex("Female") == "nữ"
    assert normalize_sex("NAM") == "nam"
    assert normalize_sex("") is None
    assert normalize_sex("x") is None


@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789 O", max_size=14),
        st.from_regex(r"\A[0-9]{12}\Z"),
    ),
    st.one_of(st.none(), st.integers()),
    st.one_of(st.none(), st.text(max_size=8)),
)
def test_parse_cccd_only_raises_cccd_error(number: str, year: int | None, sex: str | None) -> None:
    try:
        info = parse_cccd(number, today=TODAY, birth_year=year, sex=sex)
    except CccdError as e:
        assert e.code and str(e)
    else:
        assert len(info.number) == 12 and info.birth_year <= TODAY.year


# --- chip card QR ----------------------------------------------------------------------------------


def test_chip_qr_sample() -> None:
    assert parse_chip_qr(SAMPLE_QR, today=TODAY) == ChipQr(
        cccd="001099012345",
        old_id="123456789",
        full_name="Nguyễn Văn An",
        birth_date=date(1999, 1, 1),
        sex="nam",
        address="Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
        issue_date=date(2021, 8, 15),
    )


def test_chip_qr_empty_old_id_female() -> None:
    qr = parse_chip_qr(
        "079301000123||Trần Thị Bình|20052001|Nữ|Phường Bến Nghé, TP HCM|01072022", today=TODAY
    )
    assert qr.old_id is None
    assert qr.sex == "nữ"
    assert qr.birth_date == date(2001, 5, 20)


def test_chip_qr_scanner_noise_and_nfd() -> None:
    typed = "\r\n  " + unicodedata.normalize("NFD", SAMPLE_QR) + "\r\n"
    qr = parse_chip_qr(typed, today=TODAY)
    assert qr.full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", qr.full_name)
    assert unicodedata.is_normalized("NFC", qr.address)
    assert qr == parse_chip_qr(SAMPLE_QR, today=TODAY)


def test_chip_qr_six_fields_and_trailing_empty_fields() -> None:
    six = SAMPLE_QR.rsplit("|", 1)[0]
    assert parse_chip_qr(six, today=TODAY).issue_date is None
    assert parse_chip_qr(SAMPLE_QR + "||", today=TODAY).issue_date == date(2021, 8, 15)
    assert parse_chip_qr(six + "|", today=TODAY).issue_date is None


def qr_err(text: str) -> CccdError:
    with pytest.raises(CccdError) as ei:
        parse_chip_qr(text, today=TODAY)
    return ei.value


@pytest.mark.parametrize("text", ["001099012345", "a|b|c", SAMPLE_QR + "|extra", "", "|||||||||"])
def test_chip_qr_wrong_field_count(text: str) -> None:
    e = qr_err(text)
    assert e.code == "qr_format"
    if text.count("|") < 5:
        assert f"đọc được {text.count('|') + 1}" in str(e)


@pytest.mark.parametrize("dob", ["31021999", "1011999", "01-01-1999", "00001999", "01131999"])
def test_chip_qr_bad_birth_date(dob: str) -> None:
    e = qr_err(SAMPLE_QR.replace("01011999", dob))
    assert e.code == "qr_format"
    assert "ngày sinh" in str(e)


def test_chip_qr_bad_issue_date() -> None:
    e = qr_err(SAMPLE_QR.replace("15082021", "15082031"))  # in the future
    assert e.code == "qr_format" and "ngày cấp" in str(e)
    assert qr_err(SAMPLE_QR.replace("15082021", "3208202")).code == "qr_format"


def test_chip_qr_other_fields() -> None:
    assert qr_err(SAMPLE_QR.replace("|Nam|", "|X|")).code == "qr_format"
    assert qr_err(SAMPLE_QR.replace("Nguyễn Văn An", " ")).code == "qr_format"
    assert qr_err(SAMPLE_QR.replace("123456789", "12345")).code == "qr_format"
    assert qr_err(SAMPLE_QR.replace("Hoàn Kiếm", "Hoàn\x00Kiếm")).code == "qr_format"


def test_chip_qr_checks_number_against_card_data() -> None:
    assert qr_err(SAMPLE_QR.replace("|Nam|", "|Nữ|")).code == "gender_mismatch"
    assert qr_err(SAMPLE_QR.replace("01011999", "01011998")).code == "birth_year_mismatch"
    assert qr_err(SAMPLE_QR.replace("001099", "003099")).code == "unknown_place"


_QR_PIECES = st.sampled_from(
    [
        "|",
        "001099012345",
        "123456789",
        "Nguyễn Văn An",
        "01011999",
        "Nam",
        "Nữ",
        "29022000",
        " ",
        "\n",
    ]
)


@given(
    st.one_of(
        st.text(), st.lists(st.one_of(_QR_PIECES, st.text(max_size=5)), max_size=16).map("".join)
    )
)
def test_parse_chip_qr_only_raises_cccd_error(text: str) -> None:
    try:
        qr = parse_chip_qr(text, today=TODAY)
    except CccdError as e:
        assert e.code and str(e)
    else:
        assert parse_cccd(qr.cccd, today=TODAY).birth_year == qr.birth_date.year
