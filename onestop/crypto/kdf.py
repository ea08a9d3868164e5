"""The one key-derivation setting: scrypt's cost for everything derived from a passphrase or a
password (desk key files, backups, the server key, province staff, the desk's accounts).

n = 2**15, r = 8, p = 1: 32 MiB and about 0.1 s per derivation on a field laptop, the cost
RFC 7914 suggests for interactive logins. Each stored secret records the parameters it was
made with, so the cost can rise later while old files still open.

``ONESTOP_SCRYPT_N`` (tests only) lowers n for NEW secrets so test suites stay fast; a value
that is not a power of two from 2**10 to 2**20 is refused, never silently replaced, so a typo
cannot quietly weaken or ignore the setting.
"""

from __future__ import annotations

import os
from typing import Final

from onestop.i18n import t

SCRYPT_N: Final = 2**15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SCRYPT_N_ENV: Final = "ONESTOP_SCRYPT_N"
#: The n a stored file may ask for; more would let an edited file exhaust memory.
SCRYPT_N_RANGE: Final = (2**10, 2**20)


class KdfSettingError(ValueError):
    """``ONESTOP_SCRYPT_N`` is set to a value scrypt cannot use; ``str(e)`` says so (Vietnamese)."""


def valid_n(n: int) -> bool:
    """A power of two in the accepted range."""
    return SCRYPT_N_RANGE[0] <= n <= SCRYPT_N_RANGE[1] and not n & (n - 1)


def scrypt_n() -> int:
    """The scrypt cost for new secrets: ``ONESTOP_SCRYPT_N`` (tests only) or the default."""
    raw = os.environ.get(SCRYPT_N_ENV, "").strip()
    if not raw:
        return SCRYPT_N
    value = int(raw) if raw.isdigit() else 0
    if not valid_n(value):
        raise KdfSettingError(
            t(
                "{var} phải là lũy thừa của 2 từ 1024 đến 1048576 (chỉ dùng khi kiểm thử).",
                var=SCRYPT_N_ENV,
            )
        )
    return value
