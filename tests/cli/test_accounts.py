"""``onestop init`` / ``user …`` / logging in from the command line (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.login import ADMIN, NOW, PASSWORD, init_desk, runner

run = runner(NOW)


def as_(user: str, password: str = PASSWORD) -> dict[str, str]:
    return {"ONESTOP_USER": user, "ONESTOP_PASSWORD": password}


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "desk.sqlite")
    init_desk(run, path)
    code, _, err = run(
        "user",
        "add",
        "canbo",
        "--db",
        path,
        "--name",
        "Lò Văn Cường",
        "--role",
        "clerk",
        env={**ADMIN, "ONESTOP_NEW_PASSWORD": PASSWORD},
    )
    assert code == 0, err
    return path


def _receive(db: str, user: str = "canbo") -> str:
    code, out, err = run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        "Nguyễn Văn An",
        "--id",
        "001099012345",
        "--json",
        env=as_(user),
    )
    assert code == 0, err
    return str(json.loads(out)["code"])


def test_init_makes_an_encrypted_desk_with_its_admin(db: str) -> None:
    assert Path(db + ".keyring").exists()
    assert not Path(db).read_bytes().startswith(b"SQLite format 3")
    code, out, _ = run("user", "list", "--db", db, "--json", env=ADMIN)
    people = {a["username"]: a["roles"] for a in json.loads(out)["accounts"]}
    assert code == 0 and people == {
        "quantri": ["admin"],
        "tatca": ["clerk", "specialist", "leader"],
        "canbo": ["clerk"],
    }


def test_acting_with_the_wrong_role_is_refused(db: str) -> None:
    dossier = _receive(db)
    code, _, err = run(
        "act", "--db", db, dossier, "resolve", "--decision", "approved", env=as_("canbo")
    )
    assert code == 1 and "Cán bộ một cửa" in err and "Lãnh đạo" in err
    code, _, err = run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        "A",
        "--id",
        "001099012345",
        env=ADMIN,
    )
    assert code == 1 and "Quản trị" in err and "Cán bộ một cửa" in err
    code, _, err = run("act", "--db", db, dossier, "forward", "--to", "Tư pháp", env=as_("canbo"))
    assert code == 0, err
    code, out, _ = run("dossier", "show", "--db", db, dossier, "--json", env=as_("canbo"))
    events = json.loads(out)["events"]
    assert [(e["actor"], e["role"]) for e in events] == [
        ("Lò Văn Cường", "clerk"),
        ("Lò Văn Cường", "clerk"),
    ]


def test_user_commands_are_admin_only(db: str) -> None:
    code, _, err = run("user", "list", "--db", db, env=as_("canbo"))
    assert code == 1 and "được quản lý tài khoản" in err
    code, _, err = run(
        "user",
        "add",
        "moi",
        "--db",
        db,
        "--role",
        "admin",
        env={**as_("canbo"), "ONESTOP_NEW_PASSWORD": PASSWORD},
    )
    assert code == 1 and "Quản trị" in err


def test_no_credentials_without_a_terminal_is_a_clear_refusal(db: str) -> None:
    code, _, err = run("dossier", "list", "--db", db)
    assert code == 1 and "cần đăng nhập" in err and "ONESTOP_PASSWORD" in err
    code, _, err = run("--user", "canbo", "dossier", "list", "--db", db)
    assert code == 1 and "ONESTOP_PASSWORD" in err
    code, _, _ = run(
        "--user", "canbo", "dossier", "list", "--db", db, env={"ONESTOP_PASSWORD": PASSWORD}
    )
    assert code == 0


def test_wrong_password_then_locked_says_until_when(db: str) -> None:
    for i in range(4):
        code, _, err = run("dossier", "list", "--db", db, env=as_("canbo", "sai mật khẩu"))
        assert code == 1 and "Sai tên đăng nhập hoặc mật khẩu" in err and f"Còn {4 - i}" in err
    code, _, err = run("dossier", "list", "--db", db, env=as_("canbo", "sai mật khẩu"))
    assert code == 1 and "bị khóa đến 10:15 20/11/2026" in err
    code, _, err = run("dossier", "list", "--db", db, env=as_("canbo"))
    assert code == 1 and "đang bị khóa" in err
    code, _, err = run(
        "dossier", "list", "--db", db, env={**as_("canbo"), "ONESTOP_NOW": "2026-11-20 10:16"}
    )
    assert code == 0, err


def test_disable_set_role_passwd_and_policy(db: str) -> None:
    assert run("user", "set-role", "canbo", "clerk,leader", "--db", db, env=ADMIN)[0] == 0
    dossier = _receive(db)
    code, _, err = run(
        "act", "--db", db, dossier, "resolve", "--decision", "approved", env=as_("canbo")
    )
    assert code == 0, err
    assert (
        run("user", "policy", "--db", db, "--two-person", "--idle-minutes", "5", env=ADMIN)[0] == 0
    )
    dossier = _receive(db)
    code, _, err = run(
        "act", "--db", db, dossier, "resolve", "--decision", "approved", env=as_("canbo")
    )
    assert code == 1 and "hai người" in err
    assert run("user", "disable", "canbo", "--db", db, env=ADMIN)[0] == 0
    code, _, err = run("dossier", "list", "--db", db, env=as_("canbo"))
    assert code == 1 and "vô hiệu hóa" in err
    code, _, err = run(
        "user", "passwd", "canbo", "--db", db, env={**ADMIN, "ONESTOP_NEW_PASSWORD": "mới-mới-mới"}
    )
    assert code == 0, err
    assert run("dossier", "list", "--db", db, env=as_("canbo", "mới-mới-mới"))[0] == 0
    code, out, _ = run("user", "list", "--db", db, "--json", env=ADMIN)
    assert json.loads(out)["policy"] == {
        "max_failures": 5,
        "lockout_minutes": 15,
        "idle_lock_minutes": 5,
        "two_person_rule": True,
    }


def test_demo_desk_is_encrypted_with_one_account_per_role(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.sqlite")
    code, out, err = run("demo", "--db", db, "--dossiers", "20")
    assert code == 0, err
    assert "onestop-demo" in out and "lanhdao" in out and "chuyenvien" in out
    code, out, _ = run("dossier", "list", "--db", db, "--json", env=as_("lanhdao", "onestop-demo"))
    assert code == 0 and json.loads(out)["dossiers"]
    code, _, err = run("dossier", "list", "--db", db)
    assert code == 1 and "cần đăng nhập" in err
