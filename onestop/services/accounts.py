"""Accounts of an encrypted desk: create it, log in, manage users (issue 8).

The accounts live in the keyring sidecar (``store/keyring.py``), not in the database: they must
be checked *before* the database can be decrypted. Every function that changes accounts takes
an open, logged-in ``Desk`` (it holds the data key a new wrap needs) and checks the caller's
role through ``Desk.require``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from onestop.domain.clock import vn_now
from onestop.domain.roles import Permission, Role
from onestop.i18n import t
from onestop.paths import has_keyring as has_keyring
from onestop.services.desk import Desk, DeskError
from onestop.store import keyring
from onestop.store.keyring import Account, KeyringError, Policy, keyring_path

DEMO_ACCOUNTS: tuple[tuple[str, str, Role], ...] = (
    ("canbo", "Lò Thị Mai", Role.CLERK),
    ("chuyenvien", "Hà Văn Quân", Role.SPECIALIST),
    ("lanhdao", "Phạm Văn Sơn", Role.LEADER),
    ("quantri", "Vi Thị Lan", Role.ADMIN),
)


class LoginError(DeskError):
    """Login refused (wrong password, locked, disabled, tampered). ``until``: end of a lockout."""

    def __init__(self, message: str, until: datetime | None = None):
        super().__init__(message)
        self.until = until


def _login_error(e: KeyringError) -> LoginError:
    return LoginError(str(e), getattr(e, "until", None))


def _first_admin(
    data_key: bytes, admin: str, admin_name: str, password: str, now: datetime
) -> bytes:
    """A new keyring holding the data key for the desk's first admin."""
    return keyring.create_keyring(
        data_key,
        username=admin,
        display_name=admin_name or admin,
        roles=(Role.ADMIN.value,),
        password=password,
        now=now,
    )


def create_encrypted_desk(
    path: Path,
    *,
    admin: str,
    admin_name: str = "",
    password: str,
    clock: Callable[[], datetime] = vn_now,
    extra_accounts: tuple[tuple[str, str, tuple[str, ...], str], ...] = (),
    **identity: Any,
) -> Desk:
    """A new SQLCipher desk with its keyring; returns it logged in as the first admin.

    The keyring is written *before* the database: a crash in between leaves a keyring and no
    database (harmless, ``init`` can be rerun after removing it), never a database whose key
    exists nowhere.
    """
    kpath = keyring_path(path)
    if path.exists() and path.stat().st_size > 0:
        raise DeskError(t("Cơ sở dữ liệu {path} đã được khởi tạo trước đó.", path=path))
    if kpath.exists():
        raise DeskError(
            t(
                "Đã có tệp khóa {path} (của một lần khởi tạo trước). Xóa nó nếu chắc chắn không "
                "còn cơ sở dữ liệu nào dùng nó, rồi chạy lại.",
                path=kpath,
            )
        )
    now = clock()
    data_key = keyring.new_data_key()
    try:
        data = _first_admin(data_key, admin, admin_name, password, now)
        for username, name, roles, pw in extra_accounts:
            data = keyring.add_account(
                data,
                data_key,
                username=username,
                display_name=name,
                roles=roles,
                password=pw,
                now=now,
            )
    except KeyringError as e:
        raise DeskError(str(e)) from e
    keyring.write_keyring(kpath, data)
    account = keyring.account(data, admin)
    try:
        return Desk.initialise(path, clock=clock, key=data_key, account=account, **identity)
    except BaseException:
        kpath.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        raise


def login(path: Path, username: str, password: str, *, now: datetime) -> tuple[Account, bytes]:
    """Check credentials against the desk's keyring (lockout and counters included)."""
    try:
        return keyring.login(keyring_path(path), username, password, now=now)
    except KeyringError as e:
        raise _login_error(e) from e


def open_logged_in(
    path: Path, username: str, password: str, *, clock: Callable[[], datetime] = vn_now
) -> Desk:
    """Log in and open the encrypted desk as that account (roles enforced)."""
    account, data_key = login(path, username, password, now=clock())
    return Desk.open(path, clock=clock, key=data_key, account=account)


def switch_person(desk: Desk, username: str, password: str) -> None:
    """Another account of this desk takes over the open desk (one laptop, several officials).

    The credentials are checked like a login (lockout and counters included); the database
    stays open, since every account unwraps the same data key. From here on the desk records
    and refuses as the new account."""
    account, data_key = login(desk.store.path, username, password, now=desk.clock())
    if desk.store.key is not None and data_key != desk.store.key:
        raise LoginError(t("Tài khoản này thuộc một quầy khác."))
    desk.account = account
    desk.actor = account.display_name
    desk.role = account.role


def verify_password(desk: Desk, password: str) -> None:
    """The lock screen: the same account's password again (counts towards the lockout)."""
    if desk.account is None:
        return
    account, _ = login(desk.store.path, desk.account.username, password, now=desk.clock())
    desk.account = account


# ---------------------------------------------------------------------- administration


def _keyring_file(desk: Desk) -> Path:
    """The desk's keyring; a plain desk has none and is refused with what to do."""
    if desk.data_key is None:
        raise DeskError(
            t(
                "Quầy này chưa được mã hóa nên chưa có tài khoản. Mã hóa nó và tạo quản trị viên đầu tiên bằng «onestop encrypt --admin TÊN»."
            )
        )
    return keyring_path(desk.store.path)


def _keyring_of(desk: Desk) -> tuple[Path, bytes, bytes]:
    path = _keyring_file(desk)
    assert desk.data_key is not None  # _keyring_file refused a plain desk
    try:
        return path, keyring.read_keyring(path), desk.data_key
    except KeyringError as e:
        raise DeskError(str(e)) from e


def _change(desk: Desk, fn: Callable[[bytes, bytes], bytes]) -> None:
    path = _keyring_file(desk)  # a plain desk is refused before any lock file is made
    try:
        with keyring.locked(path):  # no login's counter update slips in between
            _, data, key = _keyring_of(desk)
            keyring.write_keyring(path, fn(data, key))
    except KeyringError as e:
        raise DeskError(str(e)) from e


def list_users(desk: Desk) -> list[Account]:
    desk.require(Permission.USERS)
    _, data, _ = _keyring_of(desk)
    return keyring.accounts(data)


def add_user(
    desk: Desk, username: str, display_name: str, roles: tuple[str, ...], password: str
) -> Account:
    desk.require(Permission.USERS)
    now = desk.clock()
    _change(
        desk,
        lambda data, key: keyring.add_account(
            data,
            key,
            username=username,
            display_name=display_name,
            roles=roles,
            password=password,
            now=now,
        ),
    )
    _, data, _ = _keyring_of(desk)
    return keyring.account(data, username)


def set_password(desk: Desk, username: str, password: str) -> None:
    """Anyone may change their own password; an admin may reset anyone's (and re-enable it)."""
    mine = (
        desk.account is not None and keyring.normalise_username(username) == desk.account.username
    )
    if not mine:
        desk.require(Permission.USERS)
    _change(desk, lambda data, key: keyring.set_password(data, key, username, password))


def set_roles(desk: Desk, username: str, roles: tuple[str, ...]) -> None:
    desk.require(Permission.USERS)
    _change(desk, lambda data, key: keyring.set_roles(data, key, username, roles))


def disable_user(desk: Desk, username: str) -> None:
    desk.require(Permission.USERS)
    if desk.account is not None and keyring.normalise_username(username) == desk.account.username:
        raise DeskError(t("Không tự vô hiệu hóa tài khoản đang đăng nhập."))
    _change(desk, lambda data, key: keyring.disable(data, key, username))


def get_policy(desk: Desk) -> Policy:
    _, data, _ = _keyring_of(desk)
    return keyring.policy(data)


def set_policy(
    desk: Desk,
    *,
    max_failures: int | None = None,
    lockout_minutes: int | None = None,
    idle_lock_minutes: int | None = None,
    two_person_rule: bool | None = None,
) -> None:
    """Security settings: lockout (in the keyring, read before login) and desk rules (in the DB)."""
    desk.require(Permission.SETTINGS)
    if max_failures is not None or lockout_minutes is not None:
        current = get_policy(desk)
        new = Policy(
            max_failures=current.max_failures if max_failures is None else max_failures,
            lockout_minutes=current.lockout_minutes if lockout_minutes is None else lockout_minutes,
        )
        _change(desk, lambda data, _key: keyring.set_policy(data, new))
    if idle_lock_minutes is not None:
        if not 0 <= idle_lock_minutes <= 24 * 60:
            raise DeskError(t("Thời gian tự khóa phải từ 0 (không tự khóa) đến 1440 phút."))
        desk.set_setting("idle_lock_minutes", str(idle_lock_minutes))
    if two_person_rule is not None:
        desk.set_setting("two_person_rule", "1" if two_person_rule else "0")


__all__ = [
    "DEMO_ACCOUNTS",
    "LoginError",
    "add_user",
    "create_encrypted_desk",
    "disable_user",
    "has_keyring",
    "list_users",
    "login",
    "open_logged_in",
    "switch_person",
    "set_password",
    "set_policy",
    "set_roles",
    "verify_password",
]


# ---------------------------------------------------------------------- a plain desk, encrypted


def encrypt_plain_desk(
    path: Path,
    *,
    admin: str,
    admin_name: str = "",
    password: str,
    keep_plain: bool = False,
    clock: Callable[[], datetime] = vn_now,
) -> Desk:
    """Turn a plain desk (made before accounts existed, or by scripts) into an encrypted one
    with a first admin account; return it opened as that admin.

    Nothing is replaced until the encrypted copy has been checked: it opens with the new key,
    holds the same dossiers and events, and its hash chains and projections verify. The keyring
    is written before the swap (a crash between leaves the plain file and a keyring that does
    not open it — remove the keyring and run again — never an encrypted file whose key is
    nowhere). The plain file is kept as ``<db>.plain-<time>`` during the swap and deleted at
    the end unless ``keep_plain``; deleting does not scrub the disk blocks it used.
    """
    from onestop.store.engine import Store, export_encrypted, fold_wal, is_plain_sqlite

    kpath = keyring_path(path)
    if not path.is_file():
        raise DeskError(t("Chưa có cơ sở dữ liệu {path}.", path=path))
    if kpath.exists() or not is_plain_sqlite(path):
        raise DeskError(t("Quầy {path} đã được mã hóa.", path=path))
    plain = Desk.open(path, clock=clock)  # refuses a desk never set up, migrates an old one
    try:
        before = plain.rebuild(fix=False)
        if not before.ok:
            raise DeskError(
                t(
                    "Quầy {path} đang có lỗi dữ liệu ({n} lỗi); chạy «onestop rebuild» trước khi "
                    "mã hóa.",
                    path=path,
                    n=len(before.chain_errors) + len(before.fixed),
                )
            )
    finally:
        plain.close()
    # The WAL folded into the file, so the copy sees every commit; busy means another program
    # still has the desk open and could write after the copy.
    if not fold_wal(path):
        raise DeskError(
            t(
                "Quầy {path} đang mở ở một chương trình khác. Đóng quầy ở đó rồi chạy lại; chưa "
                "thay đổi gì.",
                path=path,
            )
        )
    now = clock()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    data_key = keyring.new_data_key()
    try:
        data = _first_admin(data_key, admin, admin_name, password, now)
    except KeyringError as e:
        raise DeskError(str(e)) from e
    work = path.with_name(f"{path.name}.encrypting-{stamp}")
    kept = path.with_name(f"{path.name}.plain-{stamp}")
    try:
        export_encrypted(path, work, data_key)
        copy = Desk(Store(work, key=data_key), clock=clock)
        try:
            after = copy.rebuild(fix=False)
        finally:
            copy.close()
        if not after.ok or (after.dossiers, after.events) != (before.dossiers, before.events):
            raise DeskError(t("Bản mã hóa không khớp với quầy; chưa thay gì."))
        keyring.write_keyring(kpath, data)
        os.link(path, kept)
        for suffix in ("-wal", "-shm"):  # the plain file's, empty after the checkpoint
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(work, path)
    except BaseException:
        if not path.exists() and kept.exists():
            os.replace(kept, path)
        if is_plain_sqlite(path):
            kpath.unlink(missing_ok=True)
            kept.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        raise
    desk = open_logged_in(path, admin, password, clock=clock)
    if not keep_plain:
        kept.unlink(missing_ok=True)
    return desk
