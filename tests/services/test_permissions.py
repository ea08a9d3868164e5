"""Desk administration is the admin's: every (role x administrative command) pair (hardening 5).

One encrypted desk per module (``onestop init`` + one account per role), copied per test. Each
refused pair exits 1 with "Chỉ quản trị viên được …" and changes nothing (the database's
settings, calendar and events, the keys folder, the accounts, the files beside the desk); the
admin gets past the check. The permission check comes before any prompt and any network call:
``enroll`` is refused for a clerk with an unreachable server address.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from onestop.cli.main import main
from onestop.crypto.trust import RootKey, make_trust_container
from onestop.domain.calendar import DayKind, OfficeHours
from onestop.domain.roles import PERMISSION_LABELS, PERMISSION_ROLES, Permission, Role
from onestop.services import accounts, lockdown
from onestop.services import backup as bk
from onestop.services import keys as keys_svc
from onestop.services.desk import Desk, DeskError
from onestop.store import keyring
from onestop.store.engine import Store
from tests.cli.login import ADMIN, PASSWORD, init_desk

NOW = {"ONESTOP_NOW": "2026-11-20 10:00", "ONESTOP_PASSPHRASE": "khóa-quầy-thử"}
USERS = {Role.CLERK: "canbo", Role.SPECIALIST: "chuyenvien", Role.LEADER: "lanhdao"}
ROLES = [Role.CLERK, Role.SPECIALIST, Role.LEADER, Role.ADMIN]
ROOT_PASS = "khóa-gốc-thử"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={**NOW, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def login_env(role: Role) -> dict[str, str]:
    user = "quantri" if role is Role.ADMIN else USERS[role]
    return {"ONESTOP_USER": user, "ONESTOP_PASSWORD": PASSWORD}


def refusal(permission: Permission) -> str:
    return f"Chỉ quản trị viên được {PERMISSION_LABELS[permission]}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An encrypted desk with an account per role, an admin's backup and a province trust list."""
    base = tmp_path_factory.mktemp("perm")
    db = base / "desk" / "desk.sqlite"
    db.parent.mkdir()
    init_desk(run, db)
    for role, user in USERS.items():
        code, _, err = run(
            "user",
            "add",
            user,
            "--db",
            str(db),
            "--role",
            role.value,
            env={**ADMIN, "ONESTOP_NEW_PASSWORD": PASSWORD},
        )
        assert code == 0, err
    backups = base / "usb"
    backups.mkdir()
    code, _, err = run("backup", "--db", str(db), "--to", str(backups), env=ADMIN)
    assert code == 0, err
    root = keys_svc.create_root_key(base / "root.key", ROOT_PASS, label="Khóa gốc thử")
    tl = keys_svc.issue_trust_list(province="38", issued_at=1_790_000_000)
    trust = base / "trust.cbor"
    trust.write_bytes(make_trust_container(root, tl))
    return {
        "db": db,
        "backup": next(backups.iterdir()),
        "trust": trust,
        "fingerprint": RootKey.of(root).fingerprint(),
    }


@pytest.fixture
def desk_db(template: dict[str, Any], tmp_path: Path) -> Path:
    folder = tmp_path / "desk"
    shutil.copytree(template["db"].parent, folder)
    return folder / "desk.sqlite"


def _files(folder: Path) -> dict[str, str]:
    skip = (".lock", "-wal", "-shm", ".keyring")
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(skip)
    } | {"(dirs)": ",".join(sorted(str(p) for p in folder.rglob("*") if p.is_dir()))}


def snapshot(db: Path) -> dict[str, Any]:
    """What an administrative command could change: rows, keys folder, accounts, files."""
    ring = keyring.read_keyring(keyring.keyring_path(db))
    key = keyring.unlock(ring, "quantri", PASSWORD)  # no login: no counter moves
    store = Store(db, key=key)
    try:
        with store.read() as s:
            rows = {
                table: sorted(map(tuple, s.execute(text(f"SELECT * FROM {table}")).all()))
                for table in ("setting", "calendar_day", "event", "dossier")
            }
    finally:
        store.close()
    return {
        "rows": rows,
        "accounts": [(a.username, a.roles, a.disabled) for a in keyring.accounts(ring)],
        "policy": keyring.policy(ring),
        "files": _files(db.parent),
    }


# ----------------------------------------------------------------------------- CLI matrix

Command = Callable[[Path, dict[str, Any]], list[str]]

COMMANDS: dict[str, tuple[Permission, Command]] = {
    "restore": (
        Permission.RESTORE,
        lambda db, tpl: ["restore", str(tpl["backup"]), "--db", str(db), "--yes"],
    ),
    "backup --set-dir": (
        Permission.BACKUP_SETTINGS,
        lambda db, tpl: ["backup", "--db", str(db), "--set-dir", str(db.parent / "auto")],
    ),
    "enroll": (
        Permission.ENROLLMENT,
        lambda db, tpl: [
            "enroll",
            "--db",
            str(db),
            "--server",
            "https://127.0.0.1:9",
            "--code",
            "ABCD-EFGH-JKMN-PQRS",
        ],
    ),
    "keys import-trust (first)": (
        Permission.TRUST_ROOT,
        lambda db, tpl: [
            "keys",
            "import-trust",
            str(tpl["trust"]),
            "--db",
            str(db),
            "--pin",
            str(tpl["fingerprint"]),
        ],
    ),
    "keys create-desk": (
        Permission.DESK_KEY,
        lambda db, tpl: ["keys", "create-desk", "--db", str(db)],
    ),
    "user add": (
        Permission.USERS,
        lambda db, tpl: ["user", "add", "moi", "--db", str(db), "--role", "clerk"],
    ),
    "user policy": (
        Permission.SETTINGS,
        lambda db, tpl: ["user", "policy", "--db", str(db), "--idle-minutes", "5"],
    ),
    "desk unlock-offline": (
        Permission.OFFLINE,
        lambda db, tpl: ["desk", "unlock-offline", "--db", str(db), "--days", "2"],
    ),
    "desk offline-limits": (
        Permission.OFFLINE,
        lambda db, tpl: ["desk", "offline-limits", "--db", str(db), "--warn", "5", "--block", "9"],
    ),
}


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_admin_commands_by_role(
    command: str, role: Role, desk_db: Path, template: dict[str, Any]
) -> None:
    permission, argv = COMMANDS[command]
    before = snapshot(desk_db)
    code, out, err = run(
        *argv(desk_db, template), env={**login_env(role), "ONESTOP_NEW_PASSWORD": PASSWORD}
    )
    if role in PERMISSION_ROLES[permission]:
        # Past the check: done, or (enroll, an unreachable server) a network error.
        assert refusal(permission) not in err, err
        if command == "enroll":
            assert code == 1 and "kết nối" in err, err
        else:
            assert code == 0, err
        return
    assert code == 1, (out, err)
    assert refusal(permission) in err and "Quản trị" in err, err
    assert snapshot(desk_db) == before


def test_restore_with_a_clerks_password_for_a_plain_backup_is_refused(
    desk_db: Path, tmp_path: Path
) -> None:
    """A plain desk's backup (passphrase) must not replace an encrypted desk for a clerk."""
    plain = Desk.initialise(
        tmp_path / "plain.sqlite",
        unit_eid="000.00.14.H56",
        commune_code="16279",
        province_code="38",
        desk_no=1,
    )
    (tmp_path / "usb").mkdir()
    result = bk.create_backup(plain, tmp_path / "usb", passphrase="mật-khẩu-sao-lưu")
    plain.close()
    before = snapshot(desk_db)
    env = {**login_env(Role.CLERK), bk.PASSPHRASE_ENV: "mật-khẩu-sao-lưu"}
    code, _, err = run("restore", str(result.path), "--db", str(desk_db), "--yes", env=env)
    assert code == 1 and refusal(Permission.RESTORE) in err, err
    assert snapshot(desk_db) == before


# ----------------------------------------------------------------------------- services

SERVICES: dict[str, tuple[Permission, Callable[[Desk, dict[str, Any]], object]]] = {
    "calendar day": (
        Permission.CALENDAR,
        lambda d, tpl: d.set_calendar_day(date(2026, 12, 24), DayKind.OFF, "Nghỉ"),
    ),
    "office hours": (
        Permission.CALENDAR,
        lambda d, tpl: d.set_office_hours(OfficeHours.parse("07:30-11:30", "15:00")),
    ),
    "catalogue": (Permission.CATALOGUE, lambda d, tpl: d.import_catalogue(tpl["trust"])),
    "users": (Permission.USERS, lambda d, tpl: accounts.list_users(d)),
    "two-person rule": (
        Permission.SETTINGS,
        lambda d, tpl: accounts.set_policy(d, two_person_rule=True),
    ),
    "backup settings": (Permission.BACKUP_SETTINGS, lambda d, tpl: bk.configure(d, None, 3)),
    "unlock offline": (
        Permission.OFFLINE,
        lambda d, tpl: lockdown.unlock_offline(d, 2, d.clock()),
    ),
    "desk key": (Permission.DESK_KEY, lambda d, tpl: keys_svc.create_desk_key(d, "khóa")),
    "trust root": (
        Permission.TRUST_ROOT,
        lambda d, tpl: keys_svc.import_trust(d, tpl["trust"], allow_first_use=True),
    ),
}


def test_every_permission_is_exercised() -> None:
    covered = {p for p, _ in SERVICES.values()} | {p for p, _ in COMMANDS.values()}
    assert covered == set(Permission)


@pytest.mark.parametrize("role", [Role.CLERK, Role.SPECIALIST, Role.LEADER], ids=str)
@pytest.mark.parametrize("what", list(SERVICES))
def test_service_refuses_non_admin(
    what: str, role: Role, desk_db: Path, template: dict[str, Any]
) -> None:
    permission, call = SERVICES[what]
    before = snapshot(desk_db)
    desk = accounts.open_logged_in(desk_db, USERS[role], PASSWORD)
    try:
        assert not desk.allows(permission)
        with pytest.raises(DeskError, match=re.escape(refusal(permission))):
            call(desk, template)
    finally:
        desk.close()
    assert snapshot(desk_db) == before


def test_service_allows_admin_every_check(desk_db: Path, template: dict[str, Any]) -> None:
    desk = accounts.open_logged_in(desk_db, "quantri", PASSWORD)
    try:
        for what, (permission, call) in SERVICES.items():
            assert desk.allows(permission)
            try:
                call(desk, template)
            except DeskError as e:  # e.g. the trust list is not a catalogue: past the check
                assert refusal(permission) not in str(e), what
    finally:
        desk.close()
