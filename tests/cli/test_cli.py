"""The command line as a newcomer uses it: exit codes, --json, messages, nothing changed on refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import click
import pytest

from onestop.cli.main import main
from onestop.services.desk import Desk
from tests.cli.login import LOGIN, NOW, init_desk, runner
from tests.conftest import Clock
from tests.services.test_desk import form

run = runner({**NOW, **LOGIN})


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "desk.sqlite")
    init_desk(run, path)
    return path


def test_receive_act_show_list_round_trip(db: str):
    code, out, _ = run(
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
    )
    assert code == 0
    dossier = json.loads(out)
    assert dossier["code"] == "000.00.14.H56-261120-010001"
    assert dossier["due_at"] == "2026-11-25 10:00:00"
    c = dossier["code"]
    assert run("act", "--db", db, c, "forward", "--to", "Công chức Tư pháp - Hộ tịch")[0] == 0
    assert run("act", "--db", db, c, "request_supplement", "--reason", "Thiếu tờ khai")[0] == 0
    code, _, err = run("act", "--db", db, c, "request_supplement", "--reason", "lần 2")
    assert code == 1 and "Chờ bổ sung hồ sơ" in err
    code, out, _ = run("dossier", "show", "--db", db, c, "--json")
    shown = json.loads(out)
    assert [e["kind"] for e in shown["events"]] == ["receive", "forward", "request_supplement"]
    assert shown["allowed_actions"] == ["record_supplement", "withdraw"]
    code, out, _ = run("dossier", "list", "--db", db, "--search", "nguyen van an", "--json")
    assert [d["code"] for d in json.loads(out)["dossiers"]] == [c]
    code, out, _ = run("dossier", "list", "--db", db, "--status", "received")
    assert code == 0 and "Không có hồ sơ nào khớp" in out


def test_refused_input_exit_1_and_nothing_saved(db: str):
    code, _, err = run(
        "receive", "--db", db, "--procedure", "2.001035", "--name", "A", "--id", "12345"
    )
    assert code == 1 and "12 chữ số" in err and "chưa lưu gì" in err
    code, out, _ = run("desk", "--db", db, "--json")
    assert json.loads(out)["total"] == 0


def test_usage_error_exit_2(db: str):
    assert run("receive", "--db", db, "--name", "A")[0] == 2  # missing --procedure
    assert run("due", "--db", db, "--procedure", "2.001035", "--received", "hôm qua")[0] == 2
    assert run("act", "--db", db, "X", "teleport")[0] == 2


def test_due_command(db: str):
    code, out, _ = run(
        "due", "--db", db, "--procedure", "2.000884", "--received", "2026-02-13 15:30", "--json"
    )
    assert code == 0
    # After the 15:00 cut-off on the last day before Tết 2026 → next working day is Mon 23 Feb.
    assert json.loads(out)["due"] == "2026-02-23 17:00"


def test_check_id(db: str):
    code, out, _ = run("check-id", "079301000123", "--json")
    assert code == 0 and json.loads(out)["sex"] == "nữ" and json.loads(out)["birth_year"] == 2001
    code, out, _ = run("check-id", "07930100012A", "--json")
    assert code == 1 and json.loads(out)["error"] == "non_digit"


def test_missing_database_is_explained(tmp_path: Path):
    code, _, err = run("dossier", "list", "--db", str(tmp_path / "none.sqlite"))
    assert code == 1 and "onestop init" in err


def test_rebuild_ok(db: str):
    run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        "Lò Văn Pâng",
        "--id",
        "001099012345",
    )
    code, out, _ = run("rebuild", "--db", db, "--json")
    report = json.loads(out)
    assert (
        code == 0
        and report["integrity"] == "ok"
        and report["events"] == 1
        and report["mismatched"] == []
    )


def test_english_switch(db: str, tmp_path: Path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('language = "en"\n', encoding="utf-8")
    code, _, err = run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        "A",
        "--id",
        "1",
        env={"ONESTOP_CONFIG_FILE": str(cfg)},
    )
    assert code == 1 and "nothing was saved" in err


def test_bad_config_exit_2(db: str, tmp_path: Path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('language = "fr"\n', encoding="utf-8")
    code, _, err = run("dossier", "list", "--db", db, env={"ONESTOP_CONFIG_FILE": str(cfg)})
    assert code == 2 and "language" in err


def test_real_command_help_and_demo(tmp_path: Path):
    exe = Path(sys.executable).parent / "onestop"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "onestop demo" in out
    db = tmp_path / "demo.sqlite"
    r = subprocess.run(
        [str(exe), "demo", "--db", str(db), "--dossiers", "40", "--json"],
        capture_output=True,
        text=True,
        env={**NOW, "PATH": ""},
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["dossiers"] == 40
    r = subprocess.run([str(exe), "demo", "--db", str(db)], capture_output=True, text=True)
    assert r.returncode == 1 and "--force" in r.stderr


def test_every_command_loads_on_demand_under_its_name():
    """The lazy table in cli.py names real commands (a typo would only show when run)."""
    ctx = click.Context(main)
    names = main.list_commands(ctx)
    assert {"desk", "receive", "dossier", "keys", "backup", "user", "report", "sync"} <= set(names)
    for name in names:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
    desk = main.get_command(ctx, "desk")
    assert isinstance(desk, click.Group)
    sub = click.Context(desk, parent=ctx)
    assert desk.list_commands(sub) == [
        "offline-limits",
        "slip-settings",
        "status",
        "unlock-offline",
    ]
    assert all(desk.get_command(sub, n) is not None for n in desk.list_commands(sub))


def test_help_lists_every_command():
    code, out, _ = run("--help")
    assert code == 0
    for name in (
        "demo",
        "receive",
        "dossier",
        "keys",
        "verify",
        "backup",
        "user",
        "report",
        "serve",
    ):
        assert name in out


def test_the_desk_command_loads_no_database_library_before_opening():
    """``onestop`` must draw the desk before SQLAlchemy/SQLModel/pydantic load (cold start)."""
    code = (
        "import sys, onestop.cli.main, onestop.tui.app, onestop.tui.screens.dashboard;"
        "heavy = ('sqlalchemy', 'sqlmodel', 'pydantic', 'alembic', 'httpx', 'qrcode', 'fpdf',"
        " 'sqlcipher3', 'cryptography');"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_desk_json_on_a_plain_desk_equals_the_opened_desk_without_database_libraries(
    desk: Desk, clock: Clock
):
    """``onestop desk --json`` on a plain desk answers from the glance (no SQLAlchemy import) and
    says exactly what the opened desk says: counts, outbox and desk id."""
    desk.receive(form())
    desk.receive(form(proc="2.000884"))
    clock.now = clock.now + timedelta(days=4)  # the first now overdue, the other due soon
    expected = {**desk.counts().__dict__, "outbox": desk.outbox_size()}
    expected["desk"] = desk.identity.desk_id
    assert expected["total"] == 2 and expected["outbox"] > 0
    assert expected["overdue"] + expected["due_today"] + expected["due_soon"] > 0
    path = desk.store.path
    desk.close()
    code = (
        "import sys, json;from onestop.cli.main import main\n"
        "try:\n"
        f"    main(['desk', '--db', {str(path)!r}, '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'pydantic', 'alembic');"
        "print('LOADED', ','.join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))"
    )
    env = {**os.environ, "ONESTOP_NOW": clock.now.strftime("%Y-%m-%d %H:%M")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    shown, _, loaded = out.rpartition("LOADED")
    assert loaded.strip() == ""
    assert json.loads(shown) == expected
