"""New passwords: length alone let "12345678" and eight spaces through (hardening item 16)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.passwords import password_problem


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("        ", "lặp lại hoặc khoảng trắng"),
        ("aaaaaaaaaa", "lặp lại"),
        ("12345678", "phổ biến"),
        ("87654321", "phổ biến"),
        ("Password1", "phổ biến"),
        ("QWERTYUIOP", "phổ biến"),
        ("matkhau123", "phổ biến"),
        ("canbo2026", "tên đăng nhập"),
        ("short", "ít nhất 8"),
        ("x" * 300 + "y", "dài quá"),
    ],
)
def test_obvious_passwords_are_refused(password: str, why: str) -> None:
    problem = password_problem(password, username="canbo")
    assert problem is not None and why in problem


@pytest.mark.parametrize("password", ["onestop-demo", "mật khẩu tỉnh 2026", "mat-khau-thu-nghiem"])
def test_reasonable_passwords_pass(password: str) -> None:
    assert password_problem(password, username="canbo") is None


@given(st.text(alphabet="abcdefghijkmnpqrstuvwxyz", min_size=12, max_size=40))
def test_long_random_letters_pass_unless_one_letter(password: str) -> None:
    problem = password_problem(password, username="quantri")
    if (
        len(set(password)) > 1
        and "quantri" not in password
        and password not in "abcdefghijklmnopqrstuvwxyz"
    ):
        assert problem is None
