"""Backups carry the file store: restored files open byte for byte, a damaged or missing chunk
refuses the restore before anything changes, and older backups (no file members) still restore."""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import datetime
from pathlib import Path

import pytest

from onestop.services import attachments as att
from onestop.services import backup as bk
from onestop.services.desk import Desk
from onestop.store.files import files_dir
from tests.services.attach_helpers import make_pdf
from tests.services.test_attachments import receive

PASS = "mật khẩu sao lưu"
T0 = datetime(2026, 11, 2, 8, 0)


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")
    monkeypatch.delenv(bk.PASSPHRASE_ENV, raising=False)


def tree_hash(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def live_state(db: Path) -> tuple[str, dict[str, str]]:
    return hashlib.sha256(db.read_bytes()).hexdigest(), tree_hash(files_dir(db))


def attach_two(desk: Desk) -> tuple[str, dict[str, bytes]]:
    code = receive(desk)
    # The second file is over 64 KiB: more than one chunk.
    one, two = make_pdf(2), make_pdf(1, "TO KHAI " + "X" * 100_000)
    a = att.attach(desk, code, 1, one, pages=2, paper_pages=2)
    b = att.attach(desk, code, 2, two, pages=1, paper_pages=1)
    return code, {a.id: one, b.id: two}


def test_files_travel_with_the_backup(desk: Desk, tmp_path: Path) -> None:
    code, files = attach_two(desk)
    out = tmp_path / "usb"
    out.mkdir()
    chunks = {p.name for p in files_dir(desk.store.path).rglob("*") if p.is_file()}
    assert len(chunks) >= 3
    result = bk.create_backup(desk, out, passphrase=PASS, chunk_size=16 * 1024)
    assert {m[len("files/") :] for m in result.members if m.startswith("files/")} == chunks
    assert bk.read_backup_info(result.path).header["files"] is True

    target = tmp_path / "new-machine" / "desk.sqlite"
    with bk.prepare_restore(result.path, target, bk.Credentials(passphrase=PASS)) as plan:
        assert plan.chunks == len(chunks)
        plan.commit(now=T0)
    assert tree_hash(files_dir(target)) == tree_hash(files_dir(desk.store.path))
    assert not list(target.parent.glob(".*restore-*"))
    restored = Desk.open(target)
    try:
        for fid, data in files.items():
            assert att.open_file(restored, code, fid) == data
        assert att.verify_files(restored).ok
    finally:
        restored.close()


def test_restore_over_a_live_desk_keeps_its_files_beside_the_kept_database(
    desk: Desk, tmp_path: Path
) -> None:
    code, files = attach_two(desk)
    result = bk.create_backup(desk, tmp_path, passphrase=PASS)
    later = att.attach(desk, code, 3, make_pdf(1, "SAU SAO LUU"), pages=1, paper_pages=1)
    path = desk.store.path
    before = tree_hash(files_dir(path))
    desk.close()
    with bk.prepare_restore(result.path, path, bk.Credentials(passphrase=PASS)) as plan:
        plan.commit(now=T0)
        kept_files = plan.files_kept
    assert kept_files == path.with_name("desk.files.before-restore-20261102-080000")
    assert tree_hash(kept_files) == before
    d = Desk.open(path)
    try:
        assert {a.id for a in att.list_attachments(d, code)} == set(files)
        assert later.id not in {a.id for a in att.list_attachments(d, code)}
        assert att.verify_files(d).ok
    finally:
        d.close()


def _decrypted_stream(info: bk.BackupInfo, ckey: bytes) -> bytes:
    return b"".join(bk._iter_plain(info, ckey))


def test_a_damaged_or_missing_chunk_refuses_the_restore(desk: Desk, tmp_path: Path) -> None:
    code, _files = attach_two(desk)
    live = desk.store.path
    store = att.file_store(desk)
    victim = store.chunk_files()[0]
    good = victim.read_bytes()

    # A backup that carries a damaged chunk (the bytes on the desk's disk were damaged).
    victim.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    damaged = bk.create_backup(desk, tmp_path, passphrase=PASS, now=T0)
    victim.write_bytes(good)
    # A backup that lacks a chunk a live manifest needs.
    victim.unlink()
    missing = bk.create_backup(desk, tmp_path, passphrase=PASS, now=T0.replace(minute=1))
    victim.parent.mkdir(exist_ok=True)
    victim.write_bytes(good)
    victim.chmod(0o600)
    assert att.verify_files(desk).ok
    desk.close()

    before = live_state(live)
    for result, why in ((damaged, "không xác thực được"), (missing, "thiếu")):
        with pytest.raises(bk.BackupError, match=why):
            bk.prepare_restore(result.path, live, bk.Credentials(passphrase=PASS))
        assert live_state(live) == before
        assert not list(live.parent.glob(".*restore-*"))


def _rewrite_without_files(src: Path, dest: Path) -> None:
    """The same backup as an older version wrote it: no ``files`` flag, no file members."""
    info = bk.read_backup_info(src)
    ckey, _ = bk.open_keys(info, bk.Credentials(passphrase=PASS))
    plain = _decrypted_stream(info, ckey)
    keep: list[tuple[str, bytes]] = []
    off = 0
    for name, size in info.members:
        if not name.startswith("files/"):
            keep.append((name, plain[off : off + size]))
        off += size
    header = dict(info.header)
    header.pop("files")
    header["members"] = [{"name": n, "size": len(b)} for n, b in keep]
    parts: list[tuple[str, Path]] = []
    for n, b in keep:
        p = dest.parent / f"part-{len(parts)}"
        p.write_bytes(b)
        parts.append((n, p))
    bk._write_encrypted(
        dest,
        header,
        parts,
        [(n, p.stat().st_size) for n, p in parts],
        ckey,
        sum(len(b) for _, b in keep),
        None,
    )


def test_a_backup_from_before_the_file_store_still_restores(desk: Desk, tmp_path: Path) -> None:
    code, files = attach_two(desk)
    result = bk.create_backup(desk, tmp_path, passphrase=PASS)
    old = tmp_path / "old" / result.path.name
    old.parent.mkdir()
    _rewrite_without_files(result.path, old)
    header = bk.read_backup_info(old).header
    assert "files" not in header
    assert not any(m["name"].startswith("files/") for m in header["members"])
    path = desk.store.path
    files_before = tree_hash(files_dir(path))
    desk.close()
    with bk.prepare_restore(old, path, bk.Credentials(passphrase=PASS)) as plan:
        assert plan.staged_files is None
        plan.commit(now=T0)
    # The live file store stays where it is and still serves the restored database.
    assert tree_hash(files_dir(path)) == files_before
    d = Desk.open(path)
    try:
        for fid, data in files.items():
            assert att.open_file(d, code, fid) == data
    finally:
        d.close()


def test_file_member_names_cannot_escape(desk: Desk, tmp_path: Path) -> None:
    result = bk.create_backup(desk, tmp_path, passphrase=PASS)
    raw = result.path.read_bytes()
    info = bk.read_backup_info(result.path)
    header = dict(info.header)
    header["members"] = [*header["members"], {"name": "files/../../evil", "size": 0}]
    body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    bad = tmp_path / "bad.osbk"
    bad.write_bytes(bk.MAGIC + struct.pack(">I", len(body)) + body + raw[info.data_offset :])
    with pytest.raises(bk.BackupError, match="phần đầu"):
        bk.read_backup_info(bad)
