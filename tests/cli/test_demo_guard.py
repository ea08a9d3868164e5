"""``onestop demo --force`` deleted a real encrypted desk (hardening item 6): a real desk is
never replaced by a demo, and the refusal never suggests --force for it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner

from onestop.cli.main import main
from tests.cli.login import init_desk

NOW = {"ONESTOP_NOW": "2026-11-20 10:00"}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={**NOW, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_real_desk_is_never_replaced_by_a_demo(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    init_desk(run, db)
    before = _digest(tmp_path)
    for args in (["demo", "--db", str(db), "--force"], ["demo", "--db", str(db)]):
        code, _out, err = run(*args, "--dossiers", "5")
        assert code == 1
        assert "quầy thật" in err and "--force" not in err
        assert _digest(tmp_path) == before


def test_a_plain_desk_is_not_a_demo_either(tmp_path: Path) -> None:
    from datetime import datetime

    from onestop.services.demo import is_demo_desk
    from onestop.services.desk import Desk

    db = tmp_path / "plain.sqlite"
    Desk.initialise(
        db,
        unit_eid="000.00.14.H56",
        commune_code="16279",
        commune_name="Xã Mường Lát",
        province_code="38",
        clock=lambda: datetime(2026, 11, 20, 10, 0),
    ).close()
    assert not is_demo_desk(db)
    code, _out, err = run("demo", "--db", str(db), "--force", "--dossiers", "5")
    assert code == 1 and "quầy thật" in err


def test_a_demo_desk_is_made_again_with_force(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    assert run("demo", "--db", str(db), "--dossiers", "5")[0] == 0
    code, _out, err = run("demo", "--db", str(db), "--dossiers", "5")
    assert code == 1 and "--force" in err
    assert run("demo", "--db", str(db), "--dossiers", "7", "--force")[0] == 0
