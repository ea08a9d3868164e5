"""The encrypted, content-addressed chunk store (store/files.py)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest

from onestop.domain.attachments import CHUNK_SIZE
from onestop.store.files import FileRef, FileStore, FileStoreError, files_dir

KEY = bytes(range(32))
SECRET_TEXT = b"Giay khai sinh cua Nguyen Van An, so 001099012345"


def sample(size: int, seed: int = 1) -> bytes:
    """Readable, compressible bytes with a known text repeated in every chunk."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += SECRET_TEXT + f" trang {seed}-{i}\n".encode()
        i += 1
    return bytes(out[:size])


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(files_dir(tmp_path / "desk.sqlite"), KEY)


def chunk_files(store: FileStore) -> list[Path]:
    return [p for p in store.folder.rglob("*") if p.is_file()]


def test_folder_sits_beside_the_database():
    assert files_dir(Path("/x/desk.sqlite")) == Path("/x/desk.files")


def test_round_trip_chunking_and_modes(store: FileStore):
    data = sample(3 * CHUNK_SIZE + 123)
    ref = store.put(data)
    assert ref.size == len(data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert len(ref.chunks) == 4
    assert ref.chunks[0] == hashlib.sha256(data[:CHUNK_SIZE]).hexdigest()
    assert store.get(ref) == data
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    for p in chunk_files(store):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert stat.S_IMODE(p.parent.stat().st_mode) == 0o700
    assert all(store.has_chunk(c) for c in ref.chunks)
    assert store.missing([*ref.chunks, "0" * 64]) == ["0" * 64]


def test_put_is_idempotent_and_dedups_by_chunk(store: FileStore):
    data = sample(2 * CHUNK_SIZE)
    store.put(data)
    before = {p: p.stat().st_mtime_ns for p in chunk_files(store)}
    assert store.put(data) == store.put(data)
    assert {p: p.stat().st_mtime_ns for p in chunk_files(store)} == before
    # A second file sharing its first chunk adds only the chunk that differs.
    other = data[:CHUNK_SIZE] + sample(CHUNK_SIZE, seed=2)
    store.put(other)
    assert len(chunk_files(store)) == 3


def test_names_on_disk_reveal_neither_chunk_ids_nor_the_file_hash(store: FileStore):
    data = sample(CHUNK_SIZE + 1)
    ref = store.put(data)
    names = {p.name for p in chunk_files(store)}
    assert names.isdisjoint({*ref.chunks, ref.sha256})
    # Another desk (another key) names the same chunk differently.
    other = FileStore(store.folder.with_name("other.files"), bytes(32))
    assert other.name_of(ref.chunks[0]) != store.name_of(ref.chunks[0])


def test_a_stolen_folder_reveals_no_plaintext(store: FileStore):
    data = sample(5 * CHUNK_SIZE)
    assert data.count(SECRET_TEXT) > 100
    store.put(data)
    blob = b"".join(p.read_bytes() for p in chunk_files(store))
    assert SECRET_TEXT not in blob
    assert SECRET_TEXT[:16] not in blob
    assert b"Nguyen" not in blob


def test_a_tampered_chunk_is_refused(store: FileStore):
    data = sample(2 * CHUNK_SIZE)
    ref = store.put(data)
    victim = chunk_files(store)[0]
    raw = bytearray(victim.read_bytes())
    raw[40] ^= 1
    victim.write_bytes(bytes(raw))
    with pytest.raises(FileStoreError, match="hỏng hoặc đã bị sửa"):
        store.get(ref)
    report = store.verify_all(ref.chunks)
    assert report.damaged == [victim.name] and not report.ok


def test_a_chunk_moved_under_another_name_is_refused(store: FileStore):
    ref = store.put(sample(2 * CHUNK_SIZE))
    a, b = (store.folder / store.name_of(c)[:2] / store.name_of(c) for c in ref.chunks)
    a_bytes = a.read_bytes()
    a.write_bytes(b.read_bytes())  # chunk 2's sealed bytes under chunk 1's name
    with pytest.raises(FileStoreError):
        store.get(ref)
    assert not store.verify_all().ok
    a.write_bytes(a_bytes)
    assert store.verify_all(ref.chunks).ok


def test_a_wrong_file_ref_is_refused(store: FileStore):
    ref = store.put(sample(CHUNK_SIZE + 5))
    with pytest.raises(FileStoreError):
        store.get(FileRef("0" * 64, ref.size, ref.chunks))
    with pytest.raises(FileStoreError, match="Thiếu"):
        store.get(FileRef(ref.sha256, ref.size, ["1" * 64]))


def test_put_chunk_checks_the_id(store: FileStore):
    piece = sample(1000)
    cid = hashlib.sha256(piece).hexdigest()
    with pytest.raises(FileStoreError, match="không khớp"):
        store.put_chunk("0" * 64, piece)
    assert not chunk_files(store)
    store.put_chunk(cid, piece)
    assert store.get_chunk(cid) == piece


def test_chunk_list_round_trip(store: FileStore):
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3000)]
    ref = store.put_chunk_list(ids)
    assert len(ref.chunks) == 2  # 96 000 bytes of 32-byte ids
    assert store.read_chunk_list(ref.chunks, 3000 * CHUNK_SIZE) == ids


def test_garbage_removes_orphans_only(store: FileStore):
    kept = store.put(sample(2 * CHUNK_SIZE, seed=1))
    store.put(sample(2 * CHUNK_SIZE, seed=2))  # recorded nowhere: an orphan
    (store.folder / "ab").mkdir(exist_ok=True)
    (store.folder / "ab" / ".tmp-deadbeef").write_bytes(b"half")  # left by a crash
    assert store.verify_all().temp_files == 1
    assert store.garbage(kept.chunks, min_age_s=3600) == 0  # all just written: left alone
    assert store.garbage(kept.chunks) == 3
    assert store.get(kept) == sample(2 * CHUNK_SIZE, seed=1)
    report = store.verify_all(kept.chunks)
    assert report.ok and report.chunks == 2 and report.temp_files == 0


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_disk_full_leaves_nothing_usable(
    store: FileStore, monkeypatch: pytest.MonkeyPatch, where: str
):
    data = sample(4 * CHUNK_SIZE + 10)
    real = getattr(os, where)
    calls = {"n": 0}

    def full(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] >= 3:  # the third chunk hits the full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args)

    monkeypatch.setattr(os, where, full)
    with pytest.raises(FileStoreError, match="Ổ đĩa đã đầy"):
        store.put(data)
    monkeypatch.setattr(os, where, real)
    # No temp file is left, only whole chunks (orphans until the manifest exists, which it
    # never will): the file cannot be read back from what is there.
    assert not [p for p in chunk_files(store) if p.name.startswith(".tmp-")]
    ids = [
        hashlib.sha256(data[i : i + CHUNK_SIZE]).hexdigest()
        for i in range(0, len(data), CHUNK_SIZE)
    ]
    assert store.missing(ids)
    with pytest.raises(FileStoreError):
        store.get(FileRef(hashlib.sha256(data).hexdigest(), len(data), ids))
    assert store.verify_all().ok  # what was written is whole
    orphans = len(chunk_files(store))
    assert orphans == 2
    assert store.garbage([]) == orphans
    # Once there is room again the same put succeeds.
    assert store.get(store.put(data)) == data


def test_empty_and_oversized_files_are_refused(store: FileStore, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(FileStoreError, match="rỗng"):
        store.put(b"")
    import onestop.store.files as files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10)
    with pytest.raises(FileStoreError, match="quá lớn"):
        store.put(b"x" * 11)
