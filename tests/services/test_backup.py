"""Encrypted backups on real SQLite (and SQLCipher) files: restore, tampering, rotation."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.services import backup as bk
from onestop.services import keys as keys_svc
from onestop.services.accounts import create_encrypted_desk
from onestop.services.demo import _person
from onestop.services.desk import Desk, IntakeForm
from onestop.store import keyring
from tests.services.sync.helpers import Clock, make_desk, random_work, receive

PASS = "mật khẩu sao lưu"
T0 = datetime(2026, 11, 2, 8, 0)


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")
    monkeypatch.delenv(bk.PASSPHRASE_ENV, raising=False)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def desk(tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    d = make_desk(tmp_path / "live" / "desk.sqlite", n=40, clock=clock)
    random_work(d, clock, random.Random(8), 120)
    keys_svc.create_desk_key(d, "khóa quầy")
    yield d
    d.close()


def content_hash(path: Path, key: bytes | None = None) -> str:
    """Every row of every table (not file bytes, not rowids of rowid tables)."""
    if key is None:
        conn = sqlite3.connect(path)
    else:
        import sqlcipher3

        # The same DB-API as sqlite3's (sqlcipher3-wheels ships its own stubs).
        conn = cast(sqlite3.Connection, sqlcipher3.connect(str(path)))
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    try:
        h = hashlib.sha256()
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        assert "event" in tables and "dossier" in tables
        for name in tables:
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"'))
            h.update(name.encode() + b"\0" + "\n".join(rows).encode())
        return h.hexdigest()
    finally:
        conn.close()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if ".restore-" in p.name or p.suffix in (".part", ".tmp")
    )


# ----------------------------------------------------------------------------- round trip


def test_backup_restores_to_identical_database(desk: Desk, tmp_path: Path) -> None:
    out = tmp_path / "usb"
    out.mkdir()
    result = bk.create_backup(desk, out, passphrase=PASS, chunk_size=64 * 1024)
    assert result.path.name == f"onestop-{desk.identity.desk_id}-{desk.clock():%Y%m%d-%H%M%S}.osbk"
    assert result.summary.events > 100 and not result.encrypted_db
    assert "keys/desk.key" in result.members
    assert leftovers(out) == [] and leftovers(desk.store.path.parent) == []
    # Nothing personal is readable in the file: every byte after the header is ciphertext.
    name = desk.page().rows[0].applicant_name
    assert name.encode() not in result.path.read_bytes()

    target = tmp_path / "new-machine" / "desk.sqlite"
    with bk.prepare_restore(result.path, target, bk.Credentials(passphrase=PASS)) as plan:
        assert plan.current is None and not plan.different_desk
        assert plan.backup == result.summary
        assert plan.commit(now=T0) is None
    assert content_hash(target) == content_hash(desk.store.path)
    restored_key = keys_svc.keys_dir(target) / "desk.key"
    assert restored_key.read_bytes() == keys_svc.desk_key_path(desk).read_bytes()
    reopened = Desk.open(target)
    try:
        assert reopened.rebuild(fix=False).ok
    finally:
        reopened.close()


def test_restore_over_live_desk_keeps_the_previous_one(
    desk: Desk, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "usb"
    out.mkdir()
    result = bk.create_backup(desk, out, passphrase=PASS)
    backup_hash = content_hash(desk.store.path)
    later = receive(desk, clock, random.Random(1))  # work after the backup
    live_hash = content_hash(desk.store.path)
    path = desk.store.path
    desk.close()
    with bk.prepare_restore(result.path, path, bk.Credentials(passphrase=PASS)) as plan:
        assert plan.current is not None and plan.current.dossiers == plan.backup.dossiers + 1
        kept = plan.commit(now=T0 + timedelta(days=1))
    assert kept is not None and kept.name == "desk.sqlite.before-restore-20261103-080000"
    assert content_hash(path) == backup_hash
    assert content_hash(kept) == live_hash  # the dossier received after the backup is kept
    d = Desk.open(path)
    try:
        assert later not in {s.code for s in d.page().rows}
    finally:
        d.close()


# ----------------------------------------------------------------------------- refusals


def _flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x40
    return bytes(b)


def test_tampered_or_truncated_backup_refused_and_live_untouched(
    desk: Desk, tmp_path: Path
) -> None:
    out = tmp_path / "usb"
    out.mkdir()
    chunk = 16 * 1024
    result = bk.create_backup(desk, out, passphrase=PASS, chunk_size=chunk)
    good = result.path.read_bytes()
    info = bk.read_backup_info(result.path)
    start = info.data_offset
    first_chunk_end = start + 4 + chunk + 16
    live = desk.store.path
    before = file_hash(live), content_hash(live)
    variants = {
        "magic": _flip(good, 2),
        "header": _flip(good, 40),
        "header-wrap": _flip(good, start - 30),
        "first-chunk-length": _flip(good, start + 1),
        "middle": _flip(good, len(good) // 2),
        "last-byte": _flip(good, len(good) - 1),
        "truncated-mid-chunk": good[: len(good) - 100],
        "truncated-at-chunk-boundary": good[:first_chunk_end],
        "header-only": good[:start],
        "appended": good + b"\0",
        "chunks-swapped": good[:start] + _swap_first_chunks(good[start:], chunk),
    }
    for label, data in variants.items():
        bad = tmp_path / f"bad-{label}.osbk"
        bad.write_bytes(data)
        with pytest.raises(bk.BackupError) as e:
            bk.prepare_restore(bad, live, bk.Credentials(passphrase=PASS))
        assert not isinstance(e.value, bk.WrongKeyError) or label in ("header-wrap",), label
        assert leftovers(live.parent) == [], label
    assert (file_hash(live), content_hash(live)) == before


def _swap_first_chunks(body: bytes, chunk: int) -> bytes:
    size = 4 + chunk + 16
    return body[size : 2 * size] + body[:size] + body[2 * size :]


def test_wrong_passphrase_refused(desk: Desk, tmp_path: Path) -> None:
    result = bk.create_backup(desk, tmp_path, passphrase=PASS)
    target = tmp_path / "restored.sqlite"
    with pytest.raises(bk.WrongKeyError, match="Sai mật khẩu"):
        bk.prepare_restore(result.path, target, bk.Credentials(passphrase="không phải"))
    with pytest.raises(bk.WrongKeyError):
        bk.prepare_restore(result.path, target, bk.Credentials())
    assert not target.exists()


def test_plain_desk_needs_a_passphrase_and_a_folder(desk: Desk, tmp_path: Path) -> None:
    with pytest.raises(bk.BackupError, match="Cần mật khẩu"):
        bk.create_backup(desk, tmp_path)
    with pytest.raises(bk.BackupError, match="không tồn tại"):
        bk.create_backup(desk, tmp_path / "no-usb", passphrase=PASS)


def test_restore_refuses_a_database_that_fails_its_chain(desk: Desk, tmp_path: Path) -> None:
    # A backup whose encryption is fine but whose content was damaged before it was taken.
    with desk.store.write() as db:
        from sqlalchemy import text

        db.execute(text("UPDATE event SET head = zeroblob(32) WHERE seq = 3"))
    result = bk.create_backup(desk, tmp_path, passphrase=PASS)
    with pytest.raises(bk.BackupError, match="chuỗi băm"):
        bk.prepare_restore(result.path, tmp_path / "r.sqlite", bk.Credentials(passphrase=PASS))
    assert not (tmp_path / "r.sqlite").exists()


# ----------------------------------------------------------------------------- online


def test_backup_while_receiving_is_consistent_and_does_not_block(
    tmp_path: Path, clock: Clock
) -> None:
    desk = make_desk(tmp_path / "busy.sqlite", n=41, clock=clock)
    rng = random.Random(2)
    with desk.store.write() as db:  # a few MiB in one transaction (one fsync)
        for _ in range(800):
            proc = rng.choice(["2.000815", "2.000884", "2.001035"])
            form = IntakeForm(procedure_code=proc, applicant=_person(rng, clock.now))
            form.fee_vnd = 4_000 if proc == "2.000815" else None  # per page: the clerk counts
            desk.receive_in(db, form)
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[BaseException] = []

    def clerk() -> None:
        rng = random.Random(5)
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                receive(desk, clock, rng)
                latencies.append(time.perf_counter() - t0)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    worker = threading.Thread(target=clerk)
    worker.start()
    try:
        time.sleep(0.2)
        results = [bk.create_backup(desk, tmp_path, passphrase=PASS, chunk_size=128 * 1024)]
        time.sleep(0.1)
        results.append(
            bk.create_backup(desk, tmp_path, passphrase=PASS, now=clock.now + timedelta(seconds=1))
        )
    finally:
        stop.set()
        worker.join()
    assert not errors
    assert len(latencies) > 10
    assert max(latencies) < 2.0, max(latencies)  # never stuck behind the backup
    for i, result in enumerate(results):
        target = tmp_path / f"r{i}.sqlite"
        with bk.prepare_restore(result.path, target, bk.Credentials(passphrase=PASS)) as plan:
            plan.commit(now=T0)
        d = Desk.open(target)
        try:
            report = d.rebuild(fix=False)
            assert report.ok, report
            assert d.integrity_check() == "ok"
            assert plan.backup == result.summary
        finally:
            d.close()
    desk.close()


# ----------------------------------------------------------------------------- automatic


def test_rotation_keeps_the_newest(tmp_path: Path) -> None:
    for day in range(1, 11):
        (tmp_path / f"onestop-20040-01-202611{day:02d}-080000.osbk").write_bytes(b"x")
    (tmp_path / "onestop-20041-01-20261101-080000.osbk").write_bytes(b"other desk")
    removed = bk.rotate(tmp_path, "20040-01", 3)
    assert len(removed) == 7
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [
        "onestop-20040-01-20261108-080000.osbk",
        "onestop-20040-01-20261109-080000.osbk",
        "onestop-20040-01-20261110-080000.osbk",
        "onestop-20041-01-20261101-080000.osbk",
    ]


def test_auto_backup_once_a_day_with_rotation(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usb = tmp_path / "usb"
    assert bk.maybe_backup(desk, T0).status == "skipped"  # not configured
    bk.configure(desk, usb, keep=7)
    monkeypatch.setenv(bk.PASSPHRASE_ENV, PASS)
    # The stick is not plugged in: a clear failure, no crash, retried an hour later only.
    missing = bk.maybe_backup(desk, T0)
    assert missing.status == "failed" and "không tồn tại" in missing.message
    assert desk.setting(bk.S_LAST_ERROR) == missing.message
    usb.mkdir()
    assert bk.maybe_backup(desk, T0 + timedelta(minutes=10)).status == "skipped"
    first = bk.maybe_backup(desk, T0 + timedelta(hours=1))
    assert first.status == "done" and first.path is not None and first.path.exists()
    assert desk.setting(bk.S_LAST_ERROR) == ""
    assert bk.maybe_backup(desk, T0 + timedelta(hours=5)).status == "skipped"  # same day
    for day in range(1, 10):
        assert bk.maybe_backup(desk, T0 + timedelta(days=day)).status == "done"
    files = sorted(usb.glob("*.osbk"))
    assert len(files) == 7
    assert files[-1].name.endswith("20261111-080000.osbk")


def test_auto_backup_folder_that_is_a_file_is_reported(desk: Desk, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "usb"
    not_a_dir.write_bytes(b"")
    bk.configure(desk, not_a_dir)
    outcome = bk.maybe_backup(desk, T0, passphrase=PASS)
    assert outcome.status == "failed" and str(not_a_dir) in outcome.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_auto_backup_unwritable_folder_is_reported(desk: Desk, tmp_path: Path) -> None:
    usb = tmp_path / "ro"
    usb.mkdir()
    usb.chmod(0o500)
    try:
        bk.configure(desk, usb)
        outcome = bk.maybe_backup(desk, T0, passphrase=PASS)
    finally:
        usb.chmod(0o700)
    assert outcome.status == "failed"
    assert "ghi" in outcome.message
    assert list(usb.iterdir()) == []


# ----------------------------------------------------------------------------- encrypted desk


@pytest.fixture
def secret_desk(tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    d = create_encrypted_desk(
        tmp_path / "enc" / "desk.sqlite",
        admin="quantri",
        admin_name="Quản Trị Viên",
        password="mật-khẩu-quản-trị",
        clock=clock,
        extra_accounts=(("mai", "Lò Thị Mai", ("clerk",), "mật-khẩu-của-mai"),),
        unit_eid="000.42.14.H56",
        commune_code="20042",
        commune_name="Xã Thử 42",
        province_code="38",
        desk_no=1,
    )
    clerk = Desk(d.store, clock=clock, actor="Lò Thị Mai")
    for i in range(30):
        receive(clerk, clock, random.Random(i))
    yield d
    d.close()


def test_encrypted_desk_backup_opens_with_any_account(secret_desk: Desk, tmp_path: Path) -> None:
    key = secret_desk.data_key
    assert key is not None
    result = bk.create_backup(secret_desk, tmp_path)  # no passphrase: wrapped under the data key
    assert result.encrypted_db
    info = bk.read_backup_info(result.path)
    assert info.wrap_kind == "data-key" and info.header["keyring"]
    name = secret_desk.page().rows[0].applicant_name
    assert name.encode() not in result.path.read_bytes()
    assert not list(secret_desk.store.path.parent.glob(".*backup-*"))  # no temp copy left

    target = tmp_path / "new-laptop" / "desk.sqlite"
    with pytest.raises(bk.WrongKeyError):
        bk.prepare_restore(
            result.path, target, bk.Credentials(username="mai", password="sai mật khẩu")
        )
    with pytest.raises(bk.WrongKeyError):
        bk.prepare_restore(result.path, target, bk.Credentials(passphrase="anything"))
    # Any admin of the keyring restores it on a new machine (the keyring travels in the
    # header); a clerk's account opens it but may not restore it.
    with pytest.raises(bk.BackupError, match="Chỉ quản trị viên được khôi phục bản sao lưu"):
        bk.prepare_restore(
            result.path, target, bk.Credentials(username="mai", password="mật-khẩu-của-mai")
        )
    assert not target.parent.exists() or not any(target.parent.iterdir())
    with bk.prepare_restore(
        result.path, target, bk.Credentials(username="quantri", password="mật-khẩu-quản-trị")
    ) as plan:
        assert plan.data_key == key
        plan.commit(now=T0)
    assert (
        keyring.keyring_path(target).read_bytes()
        == keyring.keyring_path(secret_desk.store.path).read_bytes()
    )
    assert content_hash(target, key) == content_hash(secret_desk.store.path, key)
    assert name.encode() not in target.read_bytes()  # still SQLCipher on disk


# ----------------------------------------------------------------------------- CLI


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), env={"ONESTOP_NOW": "2026-11-20 10:00", **(env or {})}
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_backup_restore_exit_codes(desk: Desk, tmp_path: Path) -> None:
    db = str(desk.store.path)
    pw = tmp_path / "pw.txt"
    pw.write_text(PASS + "\n", encoding="utf-8")
    usb = tmp_path / "usb"
    code, out, err = run("backup", "--db", db, "--to", str(usb), "--passphrase-file", str(pw))
    assert code == 1 and "không tồn tại" in err
    usb.mkdir()
    code, out, err = run(
        "backup", "--db", db, "--to", str(usb), "--passphrase-file", str(pw), "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    assert made["path"].endswith("20261120-100000.osbk") and made["events"] > 100
    backup_file = made["path"]
    desk.close()
    live = Path(db)
    before = file_hash(live)

    bad = tmp_path / "bad.osbk"
    bad.write_bytes(_flip(Path(backup_file).read_bytes(), 5000))
    code, out, err = run(
        "restore", bad.as_posix(), "--db", db, "--yes", "--passphrase-file", str(pw)
    )
    assert code == 1 and "bị hỏng hoặc đã bị sửa" in err
    code, out, err = run(
        "restore", backup_file, "--db", db, "--yes", env={bk.PASSPHRASE_ENV: "sai"}
    )
    assert code == 1 and "Sai mật khẩu" in err
    code, out, err = run("restore", backup_file, "--db", db, "--passphrase-file", str(pw))
    assert code == 1 and "--yes" in err  # no terminal to confirm on: refused, nothing changed
    assert file_hash(live) == before

    other = make_desk(tmp_path / "other.sqlite", n=43)
    other.close()
    code, out, err = run(
        "restore",
        backup_file,
        "--db",
        str(tmp_path / "other.sqlite"),
        "--yes",
        "--passphrase-file",
        str(pw),
    )
    assert code == 1 and "--replace-desk" in err
    code, out, err = run(
        "restore",
        backup_file,
        "--db",
        str(tmp_path / "other.sqlite"),
        "--yes",
        "--replace-desk",
        "--passphrase-file",
        str(pw),
        "--json",
    )
    assert code == 0, err
    done = json.loads(out)
    assert done["current"]["desk_id"] == "20043-01" and done["backup"]["desk_id"] == "20040-01"
    assert Path(done["kept_previous"]).exists()

    code, out, err = run("restore", backup_file, "--db", db, "--yes", "--passphrase-file", str(pw))
    assert code == 0, err
    assert "Cơ sở dữ liệu cũ được giữ tại" in out
    assert content_hash(live) == content_hash(Path(done["db"]))


def test_cli_backup_auto_and_settings(desk: Desk, tmp_path: Path) -> None:
    db = str(desk.store.path)
    desk.close()
    usb = tmp_path / "usb"
    # Who may configure it (an admin account): tests/services/test_permissions.py.
    env = {"ONESTOP_ROLE": "admin"}
    code, out, err = run("backup", "--db", db, "--set-dir", str(usb), "--keep", "3", env=env)
    assert code == 0, err
    code, out, err = run("backup", "--db", db, "--auto", env={bk.PASSPHRASE_ENV: PASS})
    assert code == 1 and "không tồn tại" in out + err
    usb.mkdir()
    code, out, err = run(
        "backup",
        "--db",
        db,
        "--auto",
        "--json",
        env={bk.PASSPHRASE_ENV: PASS, "ONESTOP_NOW": "2026-11-20 12:00"},
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "done"
    code, out, err = run(
        "backup",
        "--db",
        db,
        "--auto",
        "--json",
        env={bk.PASSPHRASE_ENV: PASS, "ONESTOP_NOW": "2026-11-20 13:00"},
    )
    assert code == 0 and json.loads(out)["status"] == "skipped"
    code, out, err = run("backup", "--db", db)
    assert code == 2
