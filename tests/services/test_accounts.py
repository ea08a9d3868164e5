"""Accounts on an encrypted desk: roles enforced in the service, the two-person rule, and a
stolen desk file that gives away nothing without a password."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from onestop.domain.events import EventKind
from onestop.domain.roles import ACTION_ROLES, Role, role_label
from onestop.domain.text import search_key
from onestop.services import accounts
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from onestop.store import keyring
from onestop.store.engine import Store, StoreKeyError
from onestop.store.queries import DossierFilter
from tests.conftest import FROZEN

PW = "mật khẩu thử 1"
# Distinctive, with letters whose NFC and stripped forms differ a lot.
NAME = "Hoàng Thị Nguyệt Quỳnh Xương"
IDENTITY: dict[str, Any] = {
    "unit_eid": "000.00.14.H56",
    "commune_code": "16279",
    "province_code": "38",
}
USERS = {
    "canbo": ("Lò Thị Mai", ("clerk",)),
    "chuyenvien": ("Hà Văn Quân", ("specialist",)),
    "lanhdao": ("Phạm Văn Sơn", ("leader",)),
    "kiemnhiem": ("Vi Văn Tư", ("clerk", "leader")),
}


def _form(name: str = "Nguyễn Văn An") -> IntakeForm:
    return IntakeForm(
        procedure_code="2.001035", applicant=Applicant(name=name, id_number="001099012345")
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("enc") / "desk.sqlite"
    desk = accounts.create_encrypted_desk(
        path,
        admin="quantri",
        admin_name="Vi Thị Lan",
        password=PW,
        clock=lambda: FROZEN,
        **IDENTITY,
    )
    for user, (name, roles) in USERS.items():
        accounts.add_user(desk, user, name, roles, PW)
    desk.close()
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "desk.sqlite"
    for suffix in ("", ".keyring"):
        shutil.copy(str(template) + suffix, str(path) + suffix)
    return path


def as_user(db: Path, user: str) -> Desk:
    data = keyring.keyring_path(db).read_bytes()
    key = keyring.unlock(data, user, PW)
    return Desk.open(db, key=key, account=keyring.account(data, user), clock=lambda: FROZEN)


@pytest.fixture
def code(db: Path) -> Iterator[str]:
    clerk = as_user(db, "canbo")
    yield clerk.receive(_form()).code
    clerk.close()


def _events(db: Path) -> int:
    desk = as_user(db, "quantri")
    try:
        with desk.store.read() as s:
            return int(s.execute(text("SELECT count(*) FROM event")).scalar_one())
    finally:
        desk.close()


ROLE_OF = {"clerk": "canbo", "specialist": "chuyenvien", "leader": "lanhdao", "admin": "quantri"}
FORBIDDEN = [(r, k) for k in ACTION_ROLES for r in Role if r not in ACTION_ROLES[k]]


@pytest.mark.parametrize(("role", "kind"), FORBIDDEN, ids=lambda x: str(x))
def test_forbidden_action_is_refused_in_the_service(
    db: Path, code: str, role: Role, kind: EventKind
) -> None:
    before = _events(db)
    desk = as_user(db, ROLE_OF[role.value])
    try:
        with pytest.raises(DeskError) as e:
            if kind == EventKind.RECEIVE:
                desk.receive(_form())
            elif kind == EventKind.REFUSE:
                desk.refuse_intake(_form(), "Không thuộc thẩm quyền.")
                desk.act(code, kind, {"reason": "x"})
            else:
                desk.act(code, kind, {})
        msg = str(e.value)
        assert role_label(role) in msg and "Việc này do" in msg
        assert all(role_label(r) in msg for r in ACTION_ROLES[kind])
    finally:
        desk.close()
    assert _events(db) == before  # nothing written


def test_events_carry_the_account_and_its_acting_role(db: Path, code: str) -> None:
    sp = as_user(db, "chuyenvien")
    sp.act(code, "forward", {"to": "Công chức Tư pháp"})
    sp.act(code, "start", {})
    sp.close()
    leader = as_user(db, "lanhdao")
    leader.act(code, "resolve", {"decision": "approved"})
    history = leader.history(code)
    leader.close()
    assert [(e.kind.value, e.actor, e.role) for e in history] == [
        ("receive", "Lò Thị Mai", "clerk"),
        ("forward", "Hà Văn Quân", "specialist"),
        ("start", "Hà Văn Quân", "specialist"),
        ("resolve", "Phạm Văn Sơn", "leader"),
    ]


def test_two_person_rule(db: Path) -> None:
    both = as_user(db, "kiemnhiem")  # clerk and leader: a small commune
    code = both.receive(_form()).code
    both.act(code, "forward", {"to": "x"})
    admin = as_user(db, "quantri")
    admin.set_setting("two_person_rule", "1")
    admin.close()
    with pytest.raises(DeskError, match="hai người"):
        both.act(code, "resolve", {"decision": "approved"})
    other = as_user(db, "lanhdao")
    assert other.act(code, "resolve", {"decision": "approved"}).decision == "approved"
    other.close()
    # Off (the default): the same person may decide.
    code2 = both.receive(_form()).code
    admin = as_user(db, "quantri")
    accounts.set_policy(admin, two_person_rule=False)
    admin.close()
    assert both.act(code2, "resolve", {"decision": "approved"}).decision == "approved"
    both.close()


def test_administration_needs_the_admin_role(db: Path) -> None:
    from onestop.domain.calendar import DayKind

    clerk = as_user(db, "canbo")
    try:
        for attempt in (
            lambda: clerk.set_calendar_day(datetime(2026, 12, 1).date(), DayKind.OFF, "x"),
            lambda: clerk.set_setting("two_person_rule", "1"),
            lambda: accounts.add_user(clerk, "moi", "Người Mới", ("clerk",), PW),
            lambda: accounts.set_roles(clerk, "canbo", ("admin",)),
        ):
            with pytest.raises(DeskError, match="Quản trị"):
                attempt()
        clerk.set_setting("ui_theme", "onestop-dark")  # a preference, not a rule: allowed
        accounts.set_password(clerk, "canbo", "mật khẩu mới 2")  # one's own password: allowed
    finally:
        clerk.close()
    assert keyring.unlock(keyring.keyring_path(db).read_bytes(), "canbo", "mật khẩu mới 2")


def test_programmatic_api_without_an_account_is_unrestricted(desk: Desk) -> None:
    code = desk.receive(_form()).code
    desk.act(code, "resolve", {"decision": "approved"})  # tests and scripts: no role check
    assert desk.data_key is None and desk.account is None


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_stolen_desk_file_reveals_no_applicant_name(db: Path) -> None:
    clerk = as_user(db, "canbo")
    code = clerk.receive(_form(NAME)).code
    assert clerk.page().rows[0].applicant_name == NAME
    assert [s.code for s in clerk.page(_filter(search_key(NAME))).rows] == [code]  # search works
    # Leave the WAL in place, as a laptop pulled from its bag would.
    raw = {p.name: p.read_bytes() for p in db.parent.iterdir()}
    clerk.close()
    raw.update({p.name: p.read_bytes() for p in db.parent.iterdir()})
    assert "desk.sqlite-wal" in raw or "desk.sqlite" in raw
    needles = {
        unicodedata.normalize("NFC", NAME).encode("utf-8"),
        unicodedata.normalize("NFD", NAME).encode("utf-8"),
        search_key(NAME).encode("ascii"),
        b"Nguyet Quynh",
        "Quỳnh".encode(),
        b"quynh",
        b"001099012345",
    }
    for file_name, content in raw.items():
        for needle in needles:
            assert needle not in content, (file_name, needle)
    assert not raw["desk.sqlite"].startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(db).execute("SELECT * FROM sqlite_master").fetchall()


def _filter(query: str) -> DossierFilter:
    return DossierFilter(search=query)


def test_wrong_password_or_key_is_a_clear_error_and_changes_no_data(db: Path) -> None:
    as_user(db, "canbo").close()
    before = _hashes(db.parent)
    with pytest.raises(accounts.LoginError, match="Sai tên đăng nhập hoặc mật khẩu"):
        accounts.open_logged_in(db, "canbo", "không phải mật khẩu", clock=lambda: FROZEN)
    with pytest.raises(DeskError, match="Khóa dữ liệu không mở được"):
        Desk.open(db, key=bytes(32))
    with pytest.raises(DeskError, match="đã được mã hóa"):
        Desk.open(db)
    with pytest.raises(StoreKeyError):
        Store(db, key=keyring.new_data_key())
    after = _hashes(db.parent)
    # The database is byte-for-byte untouched; only the keyring's failure counter moved (under
    # its empty lock file).
    side = (".keyring", ".keyring.lock")
    assert {k: v for k, v in after.items() if not k.endswith(side)} == {
        k: v for k, v in before.items() if not k.endswith(side)
    }
    assert keyring.account(keyring.keyring_path(db).read_bytes(), "canbo").failed == 1


def test_data_key_is_what_a_backup_needs(db: Path) -> None:
    desk = as_user(db, "canbo")
    key = desk.data_key
    desk.close()
    assert key == keyring.unlock(keyring.keyring_path(db).read_bytes(), "lanhdao", PW)
    store = Store(db, key=key)
    store.close()


def test_init_refuses_to_overwrite(db: Path) -> None:
    with pytest.raises(DeskError, match="đã được khởi tạo"):
        accounts.create_encrypted_desk(db, admin="quantri", password=PW, **IDENTITY)


def test_a_failed_init_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "bad.sqlite"
    with pytest.raises(DeskError):
        accounts.create_encrypted_desk(
            path, admin="quantri", password=PW, unit_eid="000.00.14.H56", commune_code="12"
        )
    assert list(tmp_path.iterdir()) == []
