"""Province staff accounts for the dashboard: scrypt passwords, lockout, signed session cookies.

* **Passwords** are hashed with scrypt (``hashlib.scrypt``; n = 2**15, r = 8, p = 1: 32 MiB and
  about 0.1 s per try on a laptop), stored as ``scrypt$n$r$p$salt$hash`` so the cost can be
  raised later while old hashes still verify. ``ONESTOP_SCRYPT_N`` (tests only, as for desk
  keys) lowers the cost of *new* hashes.
* **Lockout**: ``MAX_FAILURES`` wrong passwords in a row lock the account for
  ``LOCK_SECONDS``; while locked even the right password is refused, and a success resets
  the count. The state lives in the database, so it holds across every worker. The login is
  also rate limited per client IP (``web.ratelimit``), which slows spraying across accounts.
  An unknown user name goes through the same steps as a known one with a wrong password:
  the same scrypt work, a counted failure (a bounded table of hashed names), the same
  message and the same lock at the same attempt — nothing tells who has an account.
* **Sessions** are stateless signed cookies, ``b64url(json).b64url(HMAC-SHA256)``, with the
  user name, the account's ``session_version`` and an expiry; the HMAC key is a random
  32-byte server setting shared by all workers. The cookie is HttpOnly, SameSite=Strict, and
  Secure when the request came over HTTPS. Every request re-reads the account: logging out or
  resetting the password bumps ``session_version``, which ends every session of that account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import struct
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Table, delete, func, select, update

from onestop.crypto import kdf
from onestop.domain.b64 import url_decode as _b64d
from onestop.domain.b64 import url_encode as _b64e
from onestop.domain.passwords import password_problem
from onestop.i18n import t
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.models import ServerStaff, metadata
from onestop.wire.base import now_epoch

__all__ = [
    "COOKIE_NAME",
    "LOCK_SECONDS",
    "MAX_FAILURES",
    "SESSION_SECONDS",
    "LoginRefused",
    "Staff",
    "StaffError",
    "add_staff",
    "check_password",
    "hash_password",
    "list_staff",
    "login",
    "logout",
    "make_session",
    "read_session",
    "session_key",
]

STAFF: Table = metadata.tables[ServerStaff.__tablename__]
COOKIE_NAME: Final = "onestop_staff"
MAX_FAILURES: Final = 5
LOCK_SECONDS: Final = 15 * 60
SESSION_SECONDS: Final = 8 * 3600
MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 1024
_SESSION_KEY: Final = "web_session_key"
_USER_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")


class StaffError(ValueError):
    """Refused account input (Vietnamese message)."""


class LoginRefused(Exception):
    """A login that did not succeed; ``str(e)`` is safe to show."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


@dataclass(frozen=True, slots=True)
class Staff:
    username: str
    display_name: str
    session_version: int


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 * 1024 * 1024)


def hash_password(password: str, *, n: int | None = None) -> str:
    n = n or kdf.scrypt_n()
    salt = secrets.token_bytes(16)
    return f"scrypt${n}${kdf.SCRYPT_R}${kdf.SCRYPT_P}${_b64e(salt)}${_b64e(_scrypt(password, salt, n, kdf.SCRYPT_R, kdf.SCRYPT_P))}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = _scrypt(password, _b64d(salt), int(n), int(r), int(p))
        return hmac.compare_digest(got, _b64d(digest))
    except (ValueError, TypeError):
        return False


# Stored hashes for unknown user names, so they cost the same scrypt work as real ones: one per
# (n, r, p), those of a real account when there is one (its cost may predate ONESTOP_SCRYPT_N).
_DUMMY: dict[tuple[int, int, int], str] = {}


def _dummy_hash(sample: str | None = None) -> str:
    n, r, p = kdf.scrypt_n(), kdf.SCRYPT_R, kdf.SCRYPT_P
    parts = (sample or "").split("$")
    if len(parts) == 6 and parts[0] == "scrypt" and all(x.isdigit() for x in parts[1:4]):
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    if (n, r, p) not in _DUMMY:
        salt = secrets.token_bytes(16)
        digest = _scrypt(secrets.token_urlsafe(16), salt, n, r, p)
        _DUMMY[n, r, p] = f"scrypt${n}${r}${p}${_b64e(salt)}${_b64e(digest)}"
    return _DUMMY[n, r, p]


# Failure counters of user names that have no account, so they lock exactly like real ones
# (same message, same attempt): ``server_setting`` rows ``staff_unknown:<sha256 of the name>``
# → 8-byte last failure, 8-byte locked-until, 4-byte count (big-endian; sorting by value is
# sorting by age). No table of their own, so no schema change. At most MAX_UNKNOWN_NAMES
# rows: past that the least recently failed names are forgotten (the login is also rate
# limited per client, so flushing the table costs a guesser thousands of slow tries).
MAX_UNKNOWN_NAMES: Final = 2000
_UNKNOWN_PREFIX: Final = "staff_unknown:"
_UNKNOWN: Final = struct.Struct(">QQI")


def _unknown_key(name: str) -> str:
    return _UNKNOWN_PREFIX + hashlib.sha256(name.encode("utf-8")).hexdigest()


def _unknown_state(value: Any) -> tuple[int, int | None]:
    """(failures, locked_until) of an unknown name's row value (a damaged value: fresh)."""
    try:
        _seen, until, failed = _UNKNOWN.unpack(bytes(value))
    except (struct.error, TypeError):
        return 0, None
    return int(failed), int(until) or None


def _count_unknown_failure(db: ServerDB, conn: Connection, name: str, now: int) -> bool:
    """One more failure for an unknown name, in the caller's transaction; True if it locks."""
    key = _unknown_key(name)
    table = repo.SETTING
    fresh = conn.execute(
        repo.insert_ignore(db, table, ["key"]), [{"key": key, "value": _UNKNOWN.pack(now, 0, 0)}]
    ).rowcount
    value = conn.execute(
        select(table.c.value).where(table.c.key == key).with_for_update()
    ).scalar_one()
    failures = _unknown_state(value)[0] + 1
    lock = failures >= MAX_FAILURES
    packed = _UNKNOWN.pack(now, now + LOCK_SECONDS, 0) if lock else _UNKNOWN.pack(now, 0, failures)
    conn.execute(update(table).where(table.c.key == key).values(value=packed))
    if fresh == 1:
        rows = conn.execute(
            select(func.count()).select_from(table).where(table.c.key.startswith(_UNKNOWN_PREFIX))
        ).scalar_one()
        if int(rows) > MAX_UNKNOWN_NAMES:
            oldest = (
                select(table.c.key)
                .where(table.c.key.startswith(_UNKNOWN_PREFIX), table.c.key != key)
                .order_by(table.c.value)
                .limit(int(rows) - MAX_UNKNOWN_NAMES)
            )
            conn.execute(delete(table).where(table.c.key.in_(oldest.scalar_subquery())))
    return lock


def normalise_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username).strip().lower()
    if not _USER_RE.match(name):
        raise StaffError(
            t(
                "Tên đăng nhập gồm 3–32 ký tự: chữ thường không dấu, chữ số, dấu chấm, gạch "
                "ngang hoặc gạch dưới."
            )
        )
    return name


def _check_new_password(password: str, username: str) -> None:
    problem = password_problem(password, username=username, min_length=MIN_PASSWORD)
    if problem:
        raise StaffError(problem)


def add_staff(
    db: ServerDB,
    username: str,
    password: str,
    *,
    display_name: str = "",
    reset: bool = False,
    now: int | None = None,
) -> Staff:
    """Create an account, or with ``reset`` set a new password, unlock it and end its sessions."""
    now = now_epoch() if now is None else now
    name = normalise_username(username)
    _check_new_password(password, name)
    display = unicodedata.normalize("NFC", display_name).strip()[:100]
    hashed = hash_password(password)
    with db.write() as conn:
        row = conn.execute(select(STAFF).where(STAFF.c.username == name)).mappings().first()
        if row is None:
            if reset:
                raise StaffError(t("Không có tài khoản {u}.", u=name))
            conn.execute(
                STAFF.insert().values(
                    username=name,
                    display_name=display,
                    password_hash=hashed,
                    created_at=now,
                    failed_count=0,
                    locked_until=None,
                    last_login_at=None,
                    session_version=1,
                )
            )
            # The name is real from now on: its own counter applies, not the unknown one.
            conn.execute(delete(repo.SETTING).where(repo.SETTING.c.key == _unknown_key(name)))
            return Staff(name, display, 1)
        if not reset:
            raise StaffError(t("Tài khoản {u} đã có; dùng --reset để đặt lại mật khẩu.", u=name))
        version = int(row["session_version"]) + 1
        values: dict[str, Any] = {
            "password_hash": hashed,
            "failed_count": 0,
            "locked_until": None,
            "session_version": version,
        }
        if display:
            values["display_name"] = display
        conn.execute(update(STAFF).where(STAFF.c.username == name).values(**values))
        return Staff(name, display or str(row["display_name"]), version)


def list_staff(db: ServerDB) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(select(STAFF).order_by(STAFF.c.username)).mappings().all()
    return [
        {
            "username": r["username"],
            "display_name": r["display_name"],
            "failed_count": int(r["failed_count"]),
            "locked_until": r["locked_until"],
            "last_login_at": r["last_login_at"],
        }
        for r in rows
    ]


def login(db: ServerDB, username: str, password: str, *, now: int | None = None) -> Staff:
    """The account if the password is right and it is not locked; ``LoginRefused`` otherwise."""
    now = now_epoch() if now is None else now
    generic = t("Sai tên đăng nhập hoặc mật khẩu.")
    try:
        name = normalise_username(username)
    except StaffError:
        check_password(password, _dummy_hash())
        raise LoginRefused(generic) from None
    if len(password) > MAX_PASSWORD:
        raise LoginRefused(generic)
    with db.read() as conn:
        row = conn.execute(select(STAFF).where(STAFF.c.username == name)).mappings().first()
        if row is None:
            # No such account: the same steps as a real one with a wrong password below —
            # lockout check, scrypt with a real account's cost, a counted failure, the same
            # message and the same lock at MAX_FAILURES. Nothing tells who has an account.
            sample = conn.execute(
                select(STAFF.c.password_hash).order_by(STAFF.c.username).limit(1)
            ).scalar()
            unknown = conn.execute(
                select(repo.SETTING.c.value).where(repo.SETTING.c.key == _unknown_key(name))
            ).scalar()
            locked_until = _unknown_state(unknown)[1]
            stored = _dummy_hash(str(sample) if sample is not None else None)
        else:
            locked_until = row["locked_until"]
            stored = str(row["password_hash"])
    if locked_until is not None and int(locked_until) > now:
        minutes = max(1, (int(locked_until) - now + 59) // 60)
        raise LoginRefused(
            t(
                "Tài khoản tạm khóa vì nhập sai mật khẩu nhiều lần; thử lại sau {m} phút.",
                m=minutes,
            ),
            locked=True,
        )
    ok = check_password(password, stored) and row is not None
    with db.write() as conn:
        if row is None:
            lock = _count_unknown_failure(db, conn, name, now)
        elif ok:
            conn.execute(
                update(STAFF)
                .where(STAFF.c.username == name)
                .values(failed_count=0, locked_until=None, last_login_at=now)
            )
            return Staff(name, str(row["display_name"]), int(row["session_version"]))
        else:
            # Count in SQL (failed_count + 1): two workers failing at once both count.
            conn.execute(
                update(STAFF)
                .where(STAFF.c.username == name)
                .values(failed_count=STAFF.c.failed_count + 1)
            )
            failures = conn.execute(
                select(STAFF.c.failed_count).where(STAFF.c.username == name)
            ).scalar_one()
            lock = int(failures) >= MAX_FAILURES
            if lock:
                conn.execute(
                    update(STAFF)
                    .where(STAFF.c.username == name)
                    .values(failed_count=0, locked_until=now + LOCK_SECONDS)
                )
    # Raised only after the transaction committed: the count and the lock must stick.
    if lock:
        raise LoginRefused(
            t(
                "Tài khoản tạm khóa vì nhập sai mật khẩu nhiều lần; thử lại sau {m} phút.",
                m=LOCK_SECONDS // 60,
            ),
            locked=True,
        )
    raise LoginRefused(generic)


def logout(db: ServerDB, username: str) -> None:
    """End every session of the account (its cookies stop verifying on every worker)."""
    with db.write() as conn:
        conn.execute(
            update(STAFF)
            .where(STAFF.c.username == username)
            .values(session_version=STAFF.c.session_version + 1)
        )


# ----------------------------------------------------------------------------- sessions


def session_key(db: ServerDB) -> bytes:
    """The HMAC key of session cookies: created once, shared by every worker (server setting)."""
    table = repo.SETTING
    with db.write() as conn:
        conn.execute(
            repo.insert_ignore(db, table, ["key"]),
            [{"key": _SESSION_KEY, "value": secrets.token_bytes(32)}],
        )
        value = conn.execute(select(table.c.value).where(table.c.key == _SESSION_KEY)).scalar_one()
    return bytes(value)


def make_session(key: bytes, staff: Staff, *, now: int | None = None) -> str:
    now = now_epoch() if now is None else now
    body = json.dumps(
        {"u": staff.username, "v": staff.session_version, "exp": now + SESSION_SECONDS},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64e(body)}.{_b64e(mac)}"


def read_session(
    db: ServerDB, key: bytes, cookie: str | None, *, now: int | None = None
) -> Staff | None:
    """The staff member a cookie belongs to, or None (missing, forged, expired, logged out)."""
    if not cookie or len(cookie) > 512 or cookie.count(".") != 1:
        return None
    now = now_epoch() if now is None else now
    body_text, mac_text = cookie.split(".")
    try:
        body = _b64d(body_text)
        mac = _b64d(mac_text)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        return None
    try:
        data = json.loads(body)
        username, version, expires = str(data["u"]), int(data["v"]), int(data["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= now:
        return None
    with db.read() as conn:
        row = conn.execute(select(STAFF).where(STAFF.c.username == username)).mappings().first()
    if row is None or int(row["session_version"]) != version:
        return None
    if row["locked_until"] is not None and int(row["locked_until"]) > now:
        return None
    return Staff(username, str(row["display_name"]), version)
