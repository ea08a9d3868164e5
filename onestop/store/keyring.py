"""The keyring sidecar: who may open the encrypted desk database, and with which role.

``<db file>.keyring`` is a small JSON file next to the database. It holds, per account:

* username, display name (written on every event and slip), roles;
* scrypt salt and parameters (n=2**15, r=8, p=1: 32 MiB and ~0.1 s per try — memory-hard, so a
  stolen file cannot be brute-forced cheaply on a GPU);
* the desk's 32-byte **data key** (the SQLCipher key) wrapped with AES-256-GCM under the
  password-derived key (KEK). A successful AES-GCM unwrap *is* the password check: there is
  no password hash to attack separately, and no key is ever stored in the clear;
* a record MAC (below), the failed-attempt counter, ``locked_until`` and ``disabled``.

**Why a role edit grants nothing.** The wrap's AAD binds the keyring id and the username, so a
wrapped key cannot be moved to another account. The roles, display name and disabled flag are
covered by ``record_mac = HMAC-SHA256(HKDF(data_key), canonical record)``, checked right after
the unwrap. Editing ``"roles": ["clerk"]`` into ``["admin"]`` in a text editor therefore makes
that login fail loudly ("sửa trái phép"), and forging a valid MAC needs the data key — which
already opens the whole database, so it is no escalation. (The honest limit: any account holder
*does* learn the data key at login; roles stop misuse through the app, and every event names its
account in the hash chain; they do not stop a colleague who writes their own SQLCipher script.)
Admins, who hold the data key, change roles by recomputing the MAC; no user's password is needed.

**Disabling** deletes the account's wrapped key, so flipping ``disabled`` back in the file gives
nothing; re-enabling means an admin sets a new password (a fresh wrap).

**Lockout counters live here, outside the database**, because they must be readable and
writable *before* the database can be unlocked (that is the point of them). They are not
authenticated: someone who can edit this file can reset them — but that person can also copy
the file and guess offline, where the counter never applied. Online guessing at the desk is
stopped by the counter (5 failures → locked 15 min, both in ``policy``); offline guessing is
stopped only by scrypt and the password's strength. Counter updates are written atomically
(temp file, fsync, rename) under an exclusive lock on ``<keyring>.lock`` held from the read to
the write (``locked``), so two processes failing at the same instant both count; account
changes by an admin take the same lock.

**Who has an account is not told.** A name with no account gets what a wrong password gets:
the same message with the same "tries left", the same scrypt work (run with a real account's
parameters), a counter written to the file, and the same lock after ``max_failures``. Those
counters sit in ``unknown_failures``, keyed by a hash of the name, at most
``MAX_UNKNOWN_NAMES`` entries (the least recently failed name is forgotten first; someone at
the keyboard would need that many scrypt runs to flush one). The one answer that still differs
is a *disabled* account, which says so: it has no wrapped key to check a password against.

``unlock`` is the pure password check (bytes in, data key out) used by login and by restore;
``login`` adds the lockout policy and the counters on the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from onestop.crypto.kdf import SCRYPT_N, SCRYPT_P, SCRYPT_R, KdfSettingError, scrypt_n
from onestop.domain.b64 import std_decode as _unb64
from onestop.domain.b64 import std_encode as _b64
from onestop.domain.fields import FIELDS, FieldError, FieldRule, clean_field
from onestop.domain.passwords import password_problem
from onestop.domain.text import search_key
from onestop.i18n import t
from onestop.paths import keyring_path as keyring_path
from onestop.paths import write_atomically
from onestop.store.filelock import exclusive

FORMAT = "onestop-keyring"
VERSION = 1
DATA_KEY_BYTES = 32
# Refuse parameters an edited file could use to exhaust memory (n*r*128 bytes).
_SCRYPT_MAXMEM = 2**28
MIN_PASSWORD = 8
DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCKOUT_MINUTES = 15
LOCK_WAIT_S = 10.0  # several scrypt runs queued behind one another, at worst
ROLE_NAMES = ("clerk", "specialist", "leader", "admin")
# Failure counters of names that have no account (``_unknown_counter``): bounded, so guessing
# many names cannot grow the file without limit (about 100 bytes per entry).
MAX_UNKNOWN_NAMES = 256
_UNKNOWN = "unknown_failures"
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")


class KeyringError(Exception):
    """A login or keyring change refused; ``str(e)`` says why, in Vietnamese."""


class BadCredentials(KeyringError):
    """Unknown user or wrong password (deliberately the same message for both)."""


class AccountLocked(KeyringError):
    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


class AccountDisabled(KeyringError):
    pass


class KeyringTampered(KeyringError):
    pass


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    roles: tuple[str, ...]
    disabled: bool = False
    failed: int = 0
    locked_until: datetime | None = None

    @property
    def role(self) -> str:
        """The first (main) role, for display."""
        return self.roles[0] if self.roles else ""


@dataclass(frozen=True)
class Policy:
    max_failures: int = DEFAULT_MAX_FAILURES
    lockout_minutes: int = DEFAULT_LOCKOUT_MINUTES


# ---------------------------------------------------------------------- paths and files


def read_keyring(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise KeyringError(t("Không đọc được tệp khóa {path}: {e}", path=path, e=e)) from e


def write_keyring(path: Path, data: bytes) -> None:
    """Atomic replace: temp file in the same folder, fsync, mode 0600, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, mode=0o600, sync_folder=True)


# ---------------------------------------------------------------------- encoding helpers


def _load(keyring_bytes: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(keyring_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KeyringError(t("Tệp khóa của quầy bị hỏng: {e}", e=e)) from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeyringError(t("Tệp này không phải tệp khóa của quầy."))
    if doc.get("version") != VERSION:
        raise KeyringError(t("Tệp khóa phiên bản {v} chưa được hỗ trợ.", v=doc.get("version")))
    if not isinstance(doc.get("accounts"), dict) or not isinstance(doc.get("id"), str):
        raise KeyringError(t("Tệp khóa của quầy bị hỏng: thiếu danh sách tài khoản."))
    return doc


def _dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _norm_password(password: str) -> bytes:
    # A password typed on Windows (NFC) and macOS (NFD) must be the same password.
    return unicodedata.normalize("NFC", password).encode("utf-8")


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _kek(password: str, kdf: dict[str, Any]) -> bytes:
    n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    if n < 2 or n & (n - 1) or not (1 <= r <= 64) or not (1 <= p <= 16):
        raise ValueError("bad scrypt parameters")
    if 128 * n * r * p > _SCRYPT_MAXMEM // 2:
        raise ValueError("scrypt parameters too large")
    return hashlib.scrypt(
        _norm_password(password),
        salt=_unb64(kdf["salt"]),
        n=n,
        r=r,
        p=p,
        maxmem=_SCRYPT_MAXMEM,
        dklen=32,
    )


def _aad(keyring_id: str, username: str) -> bytes:
    return f"{FORMAT}/{VERSION}\x00{keyring_id}\x00{username}".encode()


def _mac_key(data_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"onestop keyring record v1"
    ).derive(data_key)


def _record_mac(data_key: bytes, keyring_id: str, username: str, rec: dict[str, Any]) -> str:
    canonical = json.dumps(
        {
            "id": keyring_id,
            "username": username,
            "display_name": rec.get("display_name", ""),
            "roles": list(rec.get("roles", [])),
            "disabled": bool(rec.get("disabled", False)),
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    return _b64(hmac.new(_mac_key(data_key), canonical, hashlib.sha256).digest())


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _account(username: str, rec: dict[str, Any]) -> Account:
    return Account(
        username=username,
        display_name=str(rec.get("display_name", "")),
        roles=tuple(str(r) for r in rec.get("roles", [])),
        disabled=bool(rec.get("disabled", False)),
        failed=int(rec.get("failed", 0) or 0),
        locked_until=_parse_dt(rec.get("locked_until")),
    )


# ---------------------------------------------------------------------- validation


def validate_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    cleaned: list[str] = []
    for r in roles:
        for part in str(r).split(","):
            part = part.strip().lower()
            if not part:
                continue
            if part not in ROLE_NAMES:
                raise KeyringError(
                    t(
                        "Vai trò không tồn tại: {role}. Các vai trò: {all}.",
                        role=part,
                        all=", ".join(ROLE_NAMES),
                    )
                )
            if part not in cleaned:
                cleaned.append(part)
    if not cleaned:
        raise KeyringError(t("Tài khoản phải có ít nhất một vai trò."))
    return tuple(cleaned)


def _check_username(username: str) -> str:
    u = normalise_username(username)
    if not _USERNAME_RE.match(u):
        raise KeyringError(
            t(
                "Tên đăng nhập «{u}» không hợp lệ: 2–32 ký tự, chữ thường không dấu, số, dấu chấm, "
                "gạch ngang hoặc gạch dưới.",
                u=username,
            )
        )
    return u


def check_password(password: str, username: str = "") -> None:
    problem = password_problem(password, username=username, min_length=MIN_PASSWORD)
    if problem:
        raise KeyringError(problem)


def _clean_display(display_name: str, username: str) -> str:
    """NFC, one-line, cut to the event field's limit (it is written on every event as the
    actor); control and bidi characters are refused (domain/fields.py)."""
    limit = FIELDS["actor"].max_len
    try:
        name = clean_field(FieldRule("actor", "Tên hiển thị", len(display_name) + 1), display_name)
    except FieldError as e:
        raise KeyringError(str(e)) from None
    return name[:limit].rstrip() or username


# ---------------------------------------------------------------------- creating and changing


def new_data_key() -> bytes:
    return secrets.token_bytes(DATA_KEY_BYTES)


def _new_scrypt_n() -> int:
    """The scrypt cost of new wraps (``ONESTOP_SCRYPT_N`` lowers it in tests, crypto/kdf.py)."""
    try:
        return scrypt_n()
    except KdfSettingError as e:
        raise KeyringError(str(e)) from e


def _wrap(
    doc: dict[str, Any], data_key: bytes, username: str, password: str, rec: dict[str, Any]
) -> None:
    check_password(password, username)
    kdf = {"name": "scrypt", "salt": _b64(secrets.token_bytes(16)), "n": _new_scrypt_n()}
    kdf.update({"r": SCRYPT_R, "p": SCRYPT_P})
    kek = _kek(password, kdf)
    nonce = secrets.token_bytes(12)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, _aad(doc["id"], username))
    rec.update(kdf=kdf, nonce=_b64(nonce), wrapped_key=_b64(wrapped), disabled=False, failed=0)
    rec["locked_until"] = None


def _seal(doc: dict[str, Any], data_key: bytes, username: str) -> None:
    rec = doc["accounts"][username]
    rec["mac"] = _record_mac(data_key, doc["id"], username, rec)


def _display_taken(doc: dict[str, Any], display_name: str, except_user: str = "") -> bool:
    wanted = search_key(display_name)
    return any(
        search_key(str(rec.get("display_name", ""))) == wanted
        for u, rec in doc["accounts"].items()
        if u != except_user
    )


def create_keyring(
    data_key: bytes,
    *,
    username: str,
    display_name: str,
    roles: tuple[str, ...] | list[str],
    password: str,
    now: datetime,
    policy: Policy = Policy(),
) -> bytes:
    """A new keyring holding one account (the desk's first admin)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "id": secrets.token_hex(8),
        "policy": {
            "max_failures": policy.max_failures,
            "lockout_minutes": policy.lockout_minutes,
        },
        "accounts": {},
    }
    return add_account(
        _dump(doc),
        data_key,
        username=username,
        display_name=display_name,
        roles=roles,
        password=password,
        now=now,
    )


def add_account(
    keyring_bytes: bytes,
    data_key: bytes,
    *,
    username: str,
    display_name: str,
    roles: tuple[str, ...] | list[str],
    password: str,
    now: datetime,
) -> bytes:
    """Add an account: wraps the data key under its password (the caller holds the key)."""
    doc = _load(keyring_bytes)
    username = _check_username(username)
    if username in doc["accounts"]:
        raise KeyringError(t("Tài khoản {u} đã có.", u=username))
    display = _clean_display(display_name, username)
    if _display_taken(doc, display):
        raise KeyringError(
            t(
                "Đã có tài khoản mang tên «{name}»; mỗi cán bộ cần một tên riêng để nhật ký "
                "ghi rõ ai làm.",
                name=display,
            )
        )
    rec: dict[str, Any] = {
        "display_name": display,
        "roles": list(validate_roles(list(roles))),
        "created_at": now.isoformat(timespec="seconds"),
    }
    _wrap(doc, data_key, username, password, rec)
    doc["accounts"][username] = rec
    unknown = doc.get(_UNKNOWN)
    if isinstance(unknown, dict):  # the name is real from now on: its own counter applies
        unknown.pop(_unknown_id(doc, username), None)
    _seal(doc, data_key, username)
    return _dump(doc)


def _existing(doc: dict[str, Any], username: str) -> dict[str, Any]:
    u = normalise_username(username)
    rec = doc["accounts"].get(u)
    if not isinstance(rec, dict):
        raise KeyringError(t("Không có tài khoản {u}.", u=username))
    return rec


def _verify_with_key(doc: dict[str, Any], data_key: bytes, username: str) -> None:
    rec = doc["accounts"][username]
    if not hmac.compare_digest(
        str(rec.get("mac", "")), _record_mac(data_key, doc["id"], username, rec)
    ):
        raise KeyringTampered(
            t(
                "Tài khoản {u} trong tệp khóa đã bị sửa trái phép (vai trò, tên hoặc trạng thái "
                "không khớp chữ ký). Báo quản trị viên.",
                u=username,
            )
        )


def set_password(keyring_bytes: bytes, data_key: bytes, username: str, password: str) -> bytes:
    """New password (also re-enables a disabled account and clears its lockout)."""
    doc = _load(keyring_bytes)
    rec = _existing(doc, username)
    u = normalise_username(username)
    if not rec.get("disabled"):
        _verify_with_key(doc, data_key, u)
    _wrap(doc, data_key, u, password, rec)
    _seal(doc, data_key, u)
    return _dump(doc)


def set_roles(
    keyring_bytes: bytes, data_key: bytes, username: str, roles: tuple[str, ...] | list[str]
) -> bytes:
    doc = _load(keyring_bytes)
    rec = _existing(doc, username)
    u = normalise_username(username)
    _verify_with_key(doc, data_key, u)
    new_roles = validate_roles(list(roles))
    if "admin" in rec.get("roles", []) and "admin" not in new_roles:
        _require_other_admin(doc, u)
    rec["roles"] = list(new_roles)
    _seal(doc, data_key, u)
    return _dump(doc)


def disable(keyring_bytes: bytes, data_key: bytes, username: str) -> bytes:
    """Disable an account by deleting its wrapped key; only a new password re-enables it."""
    doc = _load(keyring_bytes)
    rec = _existing(doc, username)
    u = normalise_username(username)
    if "admin" in rec.get("roles", []):
        _require_other_admin(doc, u)
    for k in ("kdf", "nonce", "wrapped_key"):
        rec.pop(k, None)
    rec.update(disabled=True, failed=0, locked_until=None)
    _seal(doc, data_key, u)
    return _dump(doc)


def _require_other_admin(doc: dict[str, Any], username: str) -> None:
    others = [
        u
        for u, r in doc["accounts"].items()
        if u != username and "admin" in r.get("roles", []) and not r.get("disabled")
    ]
    if not others:
        raise KeyringError(
            t(
                "Không thể bỏ quyền quản trị của {u}: quầy phải còn ít nhất một quản trị viên.",
                u=username,
            )
        )


def set_policy(keyring_bytes: bytes, policy: Policy) -> bytes:
    if not 1 <= policy.max_failures <= 100 or not 1 <= policy.lockout_minutes <= 24 * 60:
        raise KeyringError(t("Số lần sai phải từ 1 đến 100 và thời gian khóa từ 1 đến 1440 phút."))
    doc = _load(keyring_bytes)
    doc["policy"] = {
        "max_failures": policy.max_failures,
        "lockout_minutes": policy.lockout_minutes,
    }
    return _dump(doc)


# ---------------------------------------------------------------------- reading


def mark_demo(keyring_bytes: bytes) -> bytes:
    """Flag a demo desk's keyring, so the login screen may show the demo accounts."""
    doc = _load(keyring_bytes)
    doc["demo"] = True
    return _dump(doc)


def is_demo(keyring_bytes: bytes) -> bool:
    # Unauthenticated on purpose: setting it only shows a hint with the public demo password.
    try:
        return bool(_load(keyring_bytes).get("demo"))
    except KeyringError:
        return False


def accounts(keyring_bytes: bytes) -> list[Account]:
    doc = _load(keyring_bytes)
    return [_account(u, rec) for u, rec in sorted(doc["accounts"].items())]


def policy(keyring_bytes: bytes) -> Policy:
    raw = _load(keyring_bytes).get("policy") or {}
    try:
        return Policy(
            max_failures=max(1, int(raw.get("max_failures", DEFAULT_MAX_FAILURES))),
            lockout_minutes=max(1, int(raw.get("lockout_minutes", DEFAULT_LOCKOUT_MINUTES))),
        )
    except (TypeError, ValueError):
        return Policy()


def account(keyring_bytes: bytes, username: str) -> Account:
    doc = _load(keyring_bytes)
    return _account(normalise_username(username), _existing(doc, username))


def _dummy_kdf(doc: dict[str, Any]) -> dict[str, Any]:
    """The scrypt parameters an unknown name is run through: those of a real account of this
    keyring (the same work as a wrong password), else the cost new accounts get."""
    for _u, rec in sorted(doc["accounts"].items()):
        kdf = rec.get("kdf") if isinstance(rec, dict) else None
        if isinstance(kdf, dict) and all(isinstance(kdf.get(k), int) for k in ("n", "r", "p")):
            return {"salt": _b64(bytes(16)), "n": kdf["n"], "r": kdf["r"], "p": kdf["p"]}
    return {"salt": _b64(bytes(16)), "n": _new_scrypt_n(), "r": SCRYPT_R, "p": SCRYPT_P}


def _bad_credentials() -> BadCredentials:
    return BadCredentials(t("Sai tên đăng nhập hoặc mật khẩu."))


def unlock(keyring_bytes: bytes, username: str, password: str) -> bytes:
    """The password check: returns the desk's data key, or raises ``KeyringError``.

    Pure (no clock, no counters): ``login`` adds the lockout policy. Used as-is to open an
    encrypted backup, whose keyring travels with it.
    """
    doc = _load(keyring_bytes)
    u = normalise_username(username)
    rec = doc["accounts"].get(u)
    if not isinstance(rec, dict):
        # Same work and same answer as a wrong password: the screen does not reveal who exists.
        try:
            _kek(password, _dummy_kdf(doc))
        except ValueError:  # an edited record's parameters: the default cost, same answer
            _kek(password, {"salt": _b64(bytes(16)), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P})
        raise _bad_credentials()
    if rec.get("disabled") or not rec.get("wrapped_key"):
        raise AccountDisabled(
            t("Tài khoản {u} đã bị vô hiệu hóa. Liên hệ quản trị viên của quầy.", u=u)
        )
    try:
        kek = _kek(password, rec["kdf"])
        data_key = AESGCM(kek).decrypt(
            _unb64(rec["nonce"]), _unb64(rec["wrapped_key"]), _aad(doc["id"], u)
        )
    except InvalidTag:
        raise _bad_credentials() from None
    except (KeyError, TypeError, ValueError) as e:
        raise KeyringError(t("Tài khoản {u} trong tệp khóa bị hỏng: {e}", u=u, e=e)) from e
    if len(data_key) != DATA_KEY_BYTES:
        raise KeyringError(t("Tài khoản {u} trong tệp khóa bị hỏng.", u=u))
    _verify_with_key(doc, data_key, u)
    return data_key


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the keyring's lock for a read-modify-write (login counters, account changes)."""
    with ExitStack() as stack:
        try:
            got = stack.enter_context(
                exclusive(path.with_name(path.name + ".lock"), wait=LOCK_WAIT_S)
            )
        except OSError as e:  # no such folder, read-only medium: as for an unreadable keyring
            raise KeyringError(t("Không đọc được tệp khóa {path}: {e}", path=path, e=e)) from e
        if not got:
            raise KeyringError(
                t(
                    "Tệp khóa {path} đang bận (một chương trình khác đang đăng nhập); thử lại.",
                    path=path,
                )
            )
        yield


def login(path: Path, username: str, password: str, *, now: datetime) -> tuple[Account, bytes]:
    """Check the lockout, the password and the record; update the counters in the file.

    A wrong password adds one failure; at ``policy.max_failures`` the account is locked for
    ``policy.lockout_minutes``. A correct password resets the counter.
    """
    with locked(path):
        return _login(path, username, password, now=now)


def _unknown_id(doc: dict[str, Any], username: str) -> str:
    # Hashed: a password typed into the name field by mistake is not kept in the clear.
    return hashlib.sha256(f"{doc['id']}\x00{username}".encode()).hexdigest()[:32]


def _unknown_counter(doc: dict[str, Any], username: str, now: datetime) -> dict[str, Any]:
    """The failure counter of a name that has no account (see ``_login``): a small table in
    the keyring, keyed by a hash of the name, at most ``MAX_UNKNOWN_NAMES`` entries.

    An entry with no failure left and no running lock is dropped: it answers exactly as a
    fresh one. When the table is still full, the least recently failed name is forgotten.
    The returned dict is in the table (a new one included) — the caller updates it in place.
    """
    table = doc.get(_UNKNOWN)
    if not isinstance(table, dict):
        table = doc[_UNKNOWN] = {}
    for key in [k for k, v in table.items() if not isinstance(v, dict)]:
        del table[key]
    for key, old in list(table.items()):
        until = _parse_dt(old.get("locked_until"))
        if not old.get("failed") and (until is None or until <= now):
            del table[key]
    key = _unknown_id(doc, username)
    if key not in table:
        while len(table) >= MAX_UNKNOWN_NAMES:
            del table[min(table, key=lambda k: str(table[k].get("seen", "")))]
        table[key] = {"failed": 0, "locked_until": None}
    entry: dict[str, Any] = table[key]
    entry["seen"] = now.isoformat(timespec="seconds")
    return entry


def _login(path: Path, username: str, password: str, *, now: datetime) -> tuple[Account, bytes]:
    """One login under the keyring lock.

    A name with no account goes through the very same steps as a real one with a wrong
    password — lockout check, the same scrypt work (``_dummy_kdf``), a failure counted and
    written to the file, the same message with the same "tries left" and the same lock at
    ``policy.max_failures`` — so neither the answer nor its timing tells who has an account.
    Its counter lives in a bounded table of hashed names (``_unknown_counter``).
    """
    data = read_keyring(path)
    doc = _load(data)
    u = normalise_username(username)
    rec = doc["accounts"].get(u)
    counter = rec if isinstance(rec, dict) else _unknown_counter(doc, u, now)
    until = _parse_dt(counter.get("locked_until"))
    if until is not None and until > now:
        raise AccountLocked(
            t(
                "Tài khoản {u} đang bị khóa do nhập sai mật khẩu nhiều lần, đến {until}.",
                u=u,
                until=until.strftime("%H:%M %d/%m/%Y"),
            ),
            until,
        )
    try:
        data_key = unlock(data, u, password)
    except BadCredentials:
        pol = policy(data)
        failed = int(counter.get("failed", 0) or 0) + 1
        if failed >= pol.max_failures:
            until = now + timedelta(minutes=pol.lockout_minutes)
            counter.update(failed=0, locked_until=until.isoformat(timespec="seconds"))
            write_keyring(path, _dump(doc))
            raise AccountLocked(
                t(
                    "Sai mật khẩu {n} lần: tài khoản {u} bị khóa đến {until}.",
                    n=failed,
                    u=u,
                    until=until.strftime("%H:%M %d/%m/%Y"),
                ),
                until,
            ) from None
        counter.update(failed=failed, locked_until=None)
        write_keyring(path, _dump(doc))
        left = pol.max_failures - failed
        raise BadCredentials(
            t(
                "Sai tên đăng nhập hoặc mật khẩu. Còn {n} lần thử trước khi tài khoản bị khóa.",
                n=left,
            )
        ) from None
    assert isinstance(rec, dict)
    if rec.get("failed") or rec.get("locked_until"):
        rec.update(failed=0, locked_until=None)
        write_keyring(path, _dump(doc))
    return _account(u, rec), data_key


__all__ = [
    "Account",
    "AccountDisabled",
    "AccountLocked",
    "BadCredentials",
    "KeyringError",
    "KeyringTampered",
    "Policy",
    "account",
    "accounts",
    "add_account",
    "create_keyring",
    "disable",
    "is_demo",
    "keyring_path",
    "locked",
    "login",
    "mark_demo",
    "new_data_key",
    "policy",
    "read_keyring",
    "set_password",
    "set_policy",
    "set_roles",
    "unlock",
    "write_keyring",
]
