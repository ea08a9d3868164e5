"""End to end against a real `onestop serve` subprocess on SQLite: enroll, upload, download,
act on another desk's dossier, and every side converges."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from onestop.cli.main import main as sync_main
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    PASSPHRASE,
    Clock,
    ServerProcess,
    assert_converged,
    commune,
    enroll,
    make_desk,
    passphrase,
    random_work,
    server_digest,
)


def test_two_desks_of_a_commune_converge(sqlite_server: ServerProcess, tmp_path: Path):
    rng = random.Random(5)
    ca, cb = Clock(), Clock()
    a = make_desk(tmp_path / "a.sqlite", n=1, desk_no=1, clock=ca)
    b = make_desk(tmp_path / "b.sqlite", n=1, desk_no=2, clock=cb)
    url = sqlite_server.url
    enroll(a, sqlite_server.db_url, url)
    enroll(b, sqlite_server.db_url, url)
    codes_a = random_work(a, ca, rng, 40)
    codes_b = random_work(b, cb, rng, 30)  # the field laptop, offline
    outbox = a.outbox_size()
    ra = sync.sync_once(a, passphrase_provider=passphrase, options=FAST)
    assert ra.ok, ra.error
    assert ra.sent_events == outbox > 0 and a.outbox_size() == 0
    rb = sync.sync_once(b, passphrase_provider=passphrase, options=FAST)
    assert rb.ok and rb.received_events == ra.sent_events
    ra2 = sync.sync_once(a, passphrase_provider=passphrase, options=FAST)
    assert ra2.received_events == rb.sent_events
    # The office (a) processes a dossier received on the field laptop (b).
    open_b = [c for c in codes_b if "forward" in a.get(c).allowed_actions()]
    ca.advance(60)
    a.act(open_b[0], "forward", {"to": "Công chức Tư pháp"})
    random_work(a, ca, rng, 10, codes_a + codes_b)
    for d in (a, b, a):
        rep = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)
        assert rep.ok, rep.error
    assert_converged(a, sqlite_server.db_url)
    assert_converged(b, sqlite_server.db_url)
    assert (
        sync_apply.desk_digest(a)
        == sync_apply.desk_digest(b)
        == server_digest(sqlite_server.db_url, commune(1))
    )
    assert b.get(open_b[0]).handler == "Công chức Tư pháp"


def test_cli_enroll_sync_export_import(sqlite_server: ServerProcess, tmp_path: Path):
    runner = CliRunner()
    env = {"ONESTOP_PASSPHRASE": PASSPHRASE, "ONESTOP_NOW": "2026-11-20 10:00"}
    db = tmp_path / "cli.sqlite"
    desk = make_desk(db, n=2)
    random_work(desk, Clock(), random.Random(2), 20)
    desk.close()
    out = runner.invoke(
        sync_main,
        [
            "server",
            "enroll-code",
            "--commune",
            commune(2),
            "--desk",
            "Quầy 1",
            "--desk-no",
            "1",
            "--database-url",
            sqlite_server.db_url,
            "--json",
        ],
        env=env,
    )
    assert out.exit_code == 0, out.output
    code = json.loads(out.stdout)["code"]
    out = runner.invoke(
        sync_main,
        ["enroll", "--db", str(db), "--server", sqlite_server.url, "--code", code],
        env=env,
    )
    assert out.exit_code == 0, out.output
    # Retrying with the same key is the same enrollment (a lost response must not strand the
    # desk); another desk (another key) cannot use the code again.
    again = runner.invoke(
        sync_main,
        ["enroll", "--db", str(db), "--server", sqlite_server.url, "--code", code],
        env=env,
    )
    assert again.exit_code == 0, again.output
    other = tmp_path / "other.sqlite"
    make_desk(other, n=2).close()
    stolen = runner.invoke(
        sync_main,
        ["enroll", "--db", str(other), "--server", sqlite_server.url, "--code", code],
        env=env,
    )
    assert stolen.exit_code == 1 and "đã được sử dụng" in stolen.output
    out = runner.invoke(sync_main, ["sync", "--db", str(db), "--once", "--json"], env=env)
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["ok"] and report["sent_events"] > 0 and report["bytes_on_wire"] > 0
    assert report["clock_skew_flagged"]  # ONESTOP_NOW is far from the server's clock
    out = runner.invoke(
        sync_main, ["sync", "--db", str(db), "export", "--to", str(tmp_path)], env=env
    )
    assert out.exit_code == 0 and "Không có sự kiện" in out.stdout
    out = runner.invoke(
        sync_main,
        ["server", "revoke-desk", f"{commune(2)}-01", "--database-url", sqlite_server.db_url],
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(sync_main, ["sync", "--db", str(db), "--once"], env=env)
    assert out.exit_code == 1  # revoked: refused, and the report says so
    assert "thu hồi" in out.output
