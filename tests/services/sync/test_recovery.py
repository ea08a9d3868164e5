"""Disasters: the server restored from an old backup wants events again; a desk restored from
an old backup is stopped with a clear message instead of forking its history."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import httpx

from onestop.server.app import create_app
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.store.repo_dossiers import all_codes
from tests.services.sync.helpers import (
    Clock,
    assert_converged,
    enroll,
    last_seq,
    make_desk,
    passphrase,
    random_work,
)

OPT = sync_base.SyncOptions(base_delay=0.0, max_attempts=3, seed=1)


def _copy_sqlite(src: Path, dst: Path) -> None:
    import sqlite3

    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()


def test_server_restored_from_backup_gets_the_events_again(tmp_path: Path):
    live = tmp_path / "server.sqlite"
    url = f"sqlite:///{live}"
    asgi = httpx.ASGITransport(app=create_app(url))
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=80, clock=clock)
    rng = random.Random(4)
    codes = random_work(desk, clock, rng, 30)
    enroll(desk, url, "http://server", transport=asgi)
    assert sync.sync_once(desk, passphrase_provider=passphrase, transport=asgi, options=OPT).ok
    _copy_sqlite(live, tmp_path / "backup.sqlite")
    random_work(desk, clock, rng, 30, codes)
    assert sync.sync_once(desk, passphrase_provider=passphrase, transport=asgi, options=OPT).ok
    acked_before = int(desk.setting("sync_acked_seq"))
    # The server's disk dies; the province restores last night's backup.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.sqlite", live)
    asgi = httpx.ASGITransport(app=create_app(url))
    report = sync.sync_once(desk, passphrase_provider=passphrase, transport=asgi, options=OPT)
    assert report.ok, report.error
    assert report.acked_seq == acked_before == last_seq(desk)
    assert_converged(desk, url)


def test_desk_restored_from_an_old_backup_is_stopped(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    asgi = httpx.ASGITransport(app=create_app(url))
    clock = Clock()
    path = tmp_path / "d.sqlite"
    desk = make_desk(path, n=81, clock=clock)
    rng = random.Random(5)
    codes = random_work(desk, clock, rng, 20)
    enroll(desk, url, "http://server", transport=asgi)
    signer = sync_enroll.desk_signer(desk, passphrase)
    _copy_sqlite(path, tmp_path / "old.sqlite")
    random_work(desk, clock, rng, 20, codes)
    assert sync.sync_once(desk, signer=signer, transport=asgi, options=OPT).ok
    desk.close()
    # The laptop is restored from the old copy and the clerk keeps working: new events reuse
    # sequence numbers the server already holds with other content.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _copy_sqlite(tmp_path / "old.sqlite", path)
    from onestop.services.desk import Desk

    desk = Desk.open(path, clock=clock)
    with desk.store.read() as db:
        codes = all_codes(db=db)
    random_work(desk, clock, rng, 25, codes)
    report = sync.sync_once(desk, signer=signer, transport=asgi, options=OPT)
    assert not report.ok
    assert "sao lưu" in (report.error or "")
    assert desk.setting("last_sync_error") == report.error
    desk.close()
