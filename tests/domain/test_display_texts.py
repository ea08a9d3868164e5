"""Pure display rules of issue 17: a procedure's short name for the list, dates and month names
that follow the language (the slips' own wording does not)."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.catalogue import SHORT_NAME_MAX, short_procedure_name
from onestop.domain.reports import period_label
from onestop.domain.text import date_text, date_vi, datetime_text, datetime_vi, month_name
from onestop.i18n import set_language


@given(st.text(min_size=1, max_size=120), st.integers(min_value=2, max_value=40))
def test_a_short_name_always_fits(name: str, width: int) -> None:
    assert len(short_procedure_name(name, width)) <= width


def test_short_names_abbreviate_before_they_cut() -> None:
    assert short_procedure_name("Chứng thực chữ ký") == "CT chữ ký"
    assert short_procedure_name("Đăng ký tạm trú") == "ĐK tạm trú"
    long = short_procedure_name("Chứng thực văn bản từ chối nhận di sản")
    assert long.startswith("CT VB từ chối") and long.endswith("…")
    assert len(long) <= SHORT_NAME_MAX


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)))
def test_screen_dates_follow_the_language_and_slips_do_not(at: datetime) -> None:
    assert datetime_text(at) == datetime_vi(at)
    set_language("en")
    try:
        english = datetime_text(at)
        assert "giờ" not in english and "tháng" not in english
        assert english.startswith(f"{at.hour:02d}:{at.minute:02d}, {at.day} ")
        assert str(at.year) in english
        assert "tháng" in datetime_vi(at)  # the slips keep the official wording
    finally:
        set_language("vi")


def test_month_names_and_period_labels() -> None:
    assert month_name(2) == "02" and month_name(11) == "11"
    assert period_label("month", 2026, 3) == "Tháng 3 năm 2026"
    assert period_label("month", 2026, 1) == "Tháng 01 năm 2026"
    assert date_text(date(2026, 12, 7)) == date_vi(date(2026, 12, 7))
    set_language("en")
    try:
        assert month_name(12) == "December"
        assert period_label("month", 2026, 12) == "December 2026"
        assert date_text(date(2026, 12, 7)) == "7 December 2026"
        assert datetime_text(datetime(2026, 12, 7, 9, 30)) == "09:30, 7 December 2026"
    finally:
        set_language("vi")
