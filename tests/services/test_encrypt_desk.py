"""A plain desk made before accounts existed, encrypted in place: same dossiers, a first admin,
nothing on disk in clear, and nothing replaced when anything goes wrong."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.services import accounts
from onestop.services.demo import build_demo
from onestop.services.desk import Desk, DeskError
from onestop.store.keyring import keyring_path
from onestop.store.queries import DossierFilter

NOW = datetime(2026, 11, 20, 10, 0)
PW = "mat-khau-quan-tri"


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "cu.sqlite"
    build_demo(path, dossiers=40, now=NOW)
    return path


def _names(path: Path) -> list[str]:
    desk = Desk.open(path, clock=lambda: NOW)
    try:
        return [s.applicant_name for s in desk.page(_all(), limit=200).rows]
    finally:
        desk.close()


def _all() -> DossierFilter:
    return DossierFilter()


def test_encrypted_in_place_with_the_same_dossiers(plain: Path) -> None:
    desk = Desk.open(plain, clock=lambda: NOW)
    before = (desk.counts(), desk.rebuild(fix=False).events)
    names = [s.applicant_name for s in desk.page(_all(), limit=200).rows]
    desk.close()

    opened = accounts.encrypt_plain_desk(plain, admin="quantri", password=PW, clock=lambda: NOW)
    try:
        assert opened.account is not None and opened.account.username == "quantri"
        assert opened.counts() == before[0]
        rebuilt = opened.rebuild(fix=False)
        assert rebuilt.ok and rebuilt.dossiers == 40 and rebuilt.events == before[1]
    finally:
        opened.close()
    raw = plain.read_bytes()
    assert raw[:16] != b"SQLite format 3\x00" and keyring_path(plain).exists()
    for name in names[:10]:
        assert name.encode() not in raw
    assert not list(plain.parent.glob("cu.sqlite.plain-*"))  # the clear copy is gone
    assert not list(plain.parent.glob("cu.sqlite.encrypting-*"))
    again = accounts.open_logged_in(plain, "quantri", PW, clock=lambda: NOW)
    again.close()


def test_keep_plain_keeps_the_clear_copy(plain: Path) -> None:
    accounts.encrypt_plain_desk(
        plain, admin="quantri", password=PW, keep_plain=True, clock=lambda: NOW
    ).close()
    (kept,) = plain.parent.glob("cu.sqlite.plain-*")
    assert kept.read_bytes()[:16] == b"SQLite format 3\x00"
    assert accounts.has_keyring(plain)


def test_refusals_change_nothing(plain: Path, tmp_path: Path) -> None:
    with pytest.raises(DeskError, match="Chưa có cơ sở dữ liệu"):
        accounts.encrypt_plain_desk(tmp_path / "none.sqlite", admin="quantri", password=PW)
    with pytest.raises(DeskError, match="ít nhất|Mật khẩu"):
        accounts.encrypt_plain_desk(plain, admin="quantri", password="ngan")
    assert not keyring_path(plain).exists() and plain.read_bytes()[:6] == b"SQLite"
    accounts.encrypt_plain_desk(plain, admin="quantri", password=PW, clock=lambda: NOW).close()
    digest = hashlib.sha256(plain.read_bytes()).hexdigest()
    with pytest.raises(DeskError, match="đã được mã hóa"):
        accounts.encrypt_plain_desk(plain, admin="quantri", password=PW)
    assert hashlib.sha256(plain.read_bytes()).hexdigest() == digest


def test_a_failure_at_the_swap_leaves_the_plain_desk_as_it_was(
    plain: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _names(plain)
    real_replace = os.replace

    def failing_replace(src: object, dst: object) -> None:
        if str(src).endswith(f"encrypting-{NOW:%Y%m%d-%H%M%S}"):
            raise OSError("đĩa đầy")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="đĩa đầy"):
        accounts.encrypt_plain_desk(plain, admin="quantri", password=PW, clock=lambda: NOW)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not keyring_path(plain).exists()
    assert plain.read_bytes()[:16] == b"SQLite format 3\x00"
    assert _names(plain) == names
    assert sorted(p.name for p in plain.parent.iterdir() if p.name.startswith("cu.sqlite")) in (
        ["cu.sqlite"],
        ["cu.sqlite", "cu.sqlite-shm", "cu.sqlite-wal"],
    )


def test_the_command(plain: Path) -> None:
    runner = CliRunner()
    env = {"ONESTOP_PASSWORD": PW, "ONESTOP_NOW": "2026-11-20 10:00"}
    r = runner.invoke(main, ["encrypt", "--db", str(plain), "--admin", "quantri"], env=env)
    assert r.exit_code == 1 and "--yes" in r.output  # no terminal, no --yes: asks nothing
    assert not keyring_path(plain).exists()
    r = runner.invoke(
        main, ["encrypt", "--db", str(plain), "--admin", "quantri", "--yes", "--json"], env=env
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["dossiers"] == 40
    r = runner.invoke(
        main,
        ["dossier", "list", "--db", str(plain), "--json"],
        env={**env, "ONESTOP_USER": "quantri"},
    )
    assert r.exit_code == 0, r.output
