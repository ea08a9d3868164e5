"""What makes a new password acceptable, for desk accounts and province staff alike.

Length alone let through "12345678" and eight spaces. A new password is refused when it is
shorter than the minimum, longer than the maximum (scrypt hashes whatever it is given, but a
megabyte "password" is an attack, not a secret), blank, one character repeated, a run of
consecutive keyboard/number characters, one of the passwords every cracking list starts with,
or the user name itself (also reversed, or with digits added). The check is on the NFC form
with case folded, so "Matkhau123" is as common as "matkhau123".
"""

from __future__ import annotations

import unicodedata
from typing import Final

from onestop.i18n import t

MAX_PASSWORD: Final = 256

#: The start of every public list of leaked passwords, plus the Vietnamese favourites.
COMMON: Final = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "87654321",
        "11111111",
        "00000000",
        "qwertyui",
        "qwertyuiop",
        "asdfghjk",
        "abcd1234",
        "abc12345",
        "abcdefgh",
        "iloveyou",
        "admin123",
        "administrator",
        "letmein1",
        "welcome1",
        "matkhau",
        "matkhau1",
        "matkhau123",
        "mật khẩu",
        "mậtkhẩu",
        "anhyeuem",
        "emyeuanh",
        "onestop1",
        "motcua123",
    }
)

_RUNS: Final = (
    "0123456789",
    "9876543210",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
)


def password_problem(password: str, *, username: str = "", min_length: int = 8) -> str | None:
    """Why ``password`` may not be used (a Vietnamese sentence), or None when it is fine."""
    clean = unicodedata.normalize("NFC", password)
    folded = clean.casefold()
    if len(clean) < min_length:
        return t("Mật khẩu phải có ít nhất {n} ký tự.", n=min_length)
    if len(clean) > MAX_PASSWORD:
        return t("Mật khẩu dài quá {n} ký tự.", n=MAX_PASSWORD)
    if not clean.strip() or len(set(folded)) == 1:
        return t("Mật khẩu không được chỉ gồm một ký tự lặp lại hoặc khoảng trắng.")
    if folded in COMMON or any(folded in run for run in _RUNS):
        return t("Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.")
    name = username.casefold()
    if name and name in (folded, folded.rstrip("0123456789"), folded[::-1]):
        return t("Mật khẩu không được là tên đăng nhập.")
    return None
