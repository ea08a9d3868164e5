"""Bounded offline work with an injected clock: warn, stop new intakes, admin unlock, sync."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.server.app import create_app
from onestop.services import lockdown
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.services.lockdown import OfflineBlockedError, OfflineLevel
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    START,
    Clock,
    act_randomly,
    enroll,
    make_desk,
    passphrase,
    random_work,
    receive,
)


def test_warn_block_unlock_and_sync(tmp_path: Path) -> None:
    asgi = httpx.ASGITransport(app=create_app(f"sqlite:///{tmp_path / 's.sqlite'}"))
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=90, clock=clock)
    rng = random.Random(3)
    standalone = make_desk(tmp_path / "alone.sqlite", n=91, clock=clock)
    enroll(desk, "sqlite:///" + str(tmp_path / "s.sqlite"), "http://server", transport=asgi)
    codes = random_work(desk, clock, rng, 10)
    assert lockdown.offline_state(desk, clock.now).level is OfflineLevel.OK

    clock.now = START + timedelta(days=8)
    state = lockdown.offline_state(desk, clock.now)
    assert state.level is OfflineLevel.WARN and state.days_offline == 8
    assert "8 ngày chưa đồng bộ" in state.message and not state.blocks_intake
    receive(desk, clock, rng)  # warned, not blocked

    clock.now = START + timedelta(days=31)
    state = lockdown.offline_state(desk, clock.now)
    assert state.level is OfflineLevel.BLOCKED and state.blocks_intake
    with pytest.raises(OfflineBlockedError, match="tạm ngừng tiếp nhận hồ sơ mới"):
        receive(desk, clock, rng)
    # Dossiers already received go on (deadlines still run); so does a refusal slip.
    moved = 0
    for code in codes:
        before = len(desk.history(code))
        if act_randomly(desk, code, rng):
            moved += 1
            assert len(desk.history(code)) == before + 1
    assert moved > 0
    refused = desk.refuse_intake(
        IntakeForm(procedure_code="2.001035", applicant=Applicant(name="Lê Văn Tư")),
        "Thiếu tờ khai.",
    )
    assert refused.code
    # A standalone desk has no province to reach: never warned nor blocked.
    assert lockdown.offline_state(standalone, clock.now + timedelta(days=400)).level is (
        OfflineLevel.STANDALONE
    )
    receive(standalone, clock, rng)

    # An admin unlocks, for a bounded number of days; it is recorded. (Who may: a logged-in
    # account's roles, tests/services/test_permissions.py; a plain desk has no accounts.)
    admin = Desk(desk.store, clock=clock, actor="Trần Quản Trị", role="admin")
    state = lockdown.unlock_offline(admin, 3, clock.now)
    assert state.level is OfflineLevel.UNLOCKED and "Trần Quản Trị" in state.message
    receive(desk, clock, rng)
    log = lockdown.unlock_history(desk)
    assert log[-1]["by"] == "Trần Quản Trị" and log[-1]["days"] == 3
    clock.now += timedelta(days=3, minutes=1)
    with pytest.raises(OfflineBlockedError):
        receive(desk, clock, rng)

    # A successful sync lifts the block.
    assert sync.sync_once(desk, passphrase_provider=passphrase, transport=asgi).ok
    assert lockdown.offline_state(desk, clock.now).level is OfflineLevel.OK
    receive(desk, clock, rng)
    # A failed sync does not count as contact.
    clock.now += timedelta(days=31)
    broken = httpx.MockTransport(lambda r: httpx.Response(503, text="down"))
    report = sync.sync_once(
        desk,
        passphrase_provider=passphrase,
        transport=broken,
        options=sync_base.SyncOptions(max_attempts=1, base_delay=0.01),
    )
    assert not report.ok
    assert lockdown.offline_state(desk, clock.now).blocks_intake
    desk.close()
    standalone.close()


def test_limits_are_settings_and_cli(tmp_path: Path) -> None:
    asgi = httpx.ASGITransport(app=create_app(f"sqlite:///{tmp_path / 's.sqlite'}"))
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=92, clock=clock)
    enroll(desk, "sqlite:///" + str(tmp_path / "s.sqlite"), "http://server", transport=asgi)
    admin = Desk(desk.store, clock=clock, role="admin")
    with pytest.raises(Exception, match="365"):
        lockdown.set_offline_limits(admin, 10, 5)
    lockdown.set_offline_limits(admin, 2, 4)
    assert lockdown.offline_state(desk, START + timedelta(days=3)).level is OfflineLevel.WARN
    assert lockdown.offline_state(desk, START + timedelta(days=5)).blocks_intake
    db = str(desk.store.path)
    desk.close()

    def run(*args: str, role: str = "clerk") -> tuple[int, str, str]:
        r = CliRunner().invoke(
            main, list(args), env={"ONESTOP_NOW": "2026-11-08 09:00", "ONESTOP_ROLE": role}
        )
        return r.exit_code, r.stdout, r.stderr

    code, out, err = run("desk", "status", "--db", db, "--json")
    assert code == 1 and json.loads(out)["offline"]["level"] == "blocked"
    code, out, err = run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        "Lê Thị Hoa",
        "--id",
        "038199012345",
    )
    assert code == 1 and "tạm ngừng tiếp nhận" in err
    code, out, err = run("desk", "unlock-offline", "--db", db, "--days", "99", role="admin")
    assert code == 2
    code, out, err = run("desk", "unlock-offline", "--db", db, "--days", "2", role="admin")
    assert code == 0, err
    assert "10/11/2026" in out
    code, out, err = run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        "Lê Thị Hoa",
        "--id",
        "038199012345",
    )
    assert code == 0, err
    code, out, err = run("desk", "status", "--db", db)
    assert code == 0 and "cho phép tiếp tục tiếp nhận" in out
