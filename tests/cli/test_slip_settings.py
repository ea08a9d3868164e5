"""``onestop desk slip-settings``: the phone on the supplement slip and the head of unit under
the apology letter are set by an admin; anyone may read them (issue 16.11)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from onestop.cli.main import main
from tests.cli.login import ADMIN, LOGIN, init_desk

NOW = {"ONESTOP_NOW": "2026-11-20 10:00"}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={**NOW, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_admin_sets_the_slip_settings_and_a_clerk_may_only_read(tmp_path: Path) -> None:
    db = str(tmp_path / "desk.sqlite")
    init_desk(run, db)
    code, _out, err = run(
        "desk",
        "slip-settings",
        "--db",
        db,
        "--contact-phone",
        "+84 912 345 678",
        "--head-of-unit",
        "Phạm Văn Sơn",
        "--partial-payments",
        env=ADMIN,
    )
    assert code == 0, err
    code, out, _ = run("desk", "slip-settings", "--db", db, "--json", env=LOGIN)
    assert code == 0
    assert json.loads(out) == {
        "contact_phone": "0912345678",
        "head_of_unit": "Phạm Văn Sơn",
        "partial_payments": True,
        "receipt_paper": "a4",
    }
    code, _out, err = run(
        "desk", "slip-settings", "--db", db, "--contact-phone", "0987654321", env=LOGIN
    )
    assert code == 1 and "quản trị viên" in err
    code, _out, err = run("desk", "slip-settings", "--db", db, "--contact-phone", "12", env=ADMIN)
    assert code == 1 and "Số điện thoại không hợp lệ" in err
    code, out, _ = run("desk", "slip-settings", "--db", db, "--json", env=ADMIN)
    assert json.loads(out)["contact_phone"] == "0912345678"  # refusals changed nothing


def test_receipt_paper_is_a4_or_80mm(tmp_path: Path) -> None:
    """The receipt's paper at this counter (issue 18): an admin switches it to the thermal roll."""
    db = str(tmp_path / "desk.sqlite")
    init_desk(run, db)
    code, _out, err = run("desk", "slip-settings", "--db", db, "--receipt-paper", "80mm", env=ADMIN)
    assert code == 0, err
    code, out, _ = run("desk", "slip-settings", "--db", db, "--json", env=LOGIN)
    assert json.loads(out)["receipt_paper"] == "80mm"
    code, _out, err = run("desk", "slip-settings", "--db", db, "--receipt-paper", "a5", env=ADMIN)
    assert code != 0 and "a5" in err
