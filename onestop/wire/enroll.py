"""Enrollment codes: the one-time code a province gives a desk, and the check that binds it to
the server key the desk pins."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

ENROLL_ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U


ENROLL_SECRET_LEN: Final = 12


ENROLL_CHECK_LEN: Final = 4


ENROLL_HASH_PREFIX: Final = "sha256:"


def normalise_enroll_code(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace() and ch != "-").upper()


def group_code(symbols: str) -> str:
    return "-".join(symbols[i : i + 4] for i in range(0, len(symbols), 4))


def enroll_secret_hash(secret: str) -> bytes:
    """SHA-256 of the normalised secret (the first 12 symbols of a code)."""
    return hashlib.sha256(normalise_enroll_code(secret)[:ENROLL_SECRET_LEN].encode()).digest()


def enroll_check(secret: str, alg: int, public_key: bytes) -> str:
    """The 4-symbol check group binding a code's secret to the server key it was issued under."""
    key = normalise_enroll_code(secret)[:ENROLL_SECRET_LEN].encode()
    msg = b"onestop-enroll-check/1" + alg.to_bytes(4, "big", signed=True) + public_key
    n = int.from_bytes(hmac.new(key, msg, hashlib.sha256).digest()[:8], "big")
    out = []
    for _ in range(ENROLL_CHECK_LEN):
        n, r = divmod(n, len(ENROLL_ALPHABET))
        out.append(ENROLL_ALPHABET[r])
    return "".join(out)
