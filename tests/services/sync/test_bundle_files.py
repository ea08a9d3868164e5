"""USB bundles carry scanned papers (onestop-bundle/3): desk to desk, desk to province.

Real desks (SQLite, their encrypted file stores), real bundle files, the real server database
and chunk store; a real ``onestop serve`` for the files lane afterwards. Bad or missing chunks
refuse the whole bundle with a clear message and store nothing.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onestop.domain.attachments import CHUNK_SIZE, INLINE_CHUNKS
from onestop.server import files as server_files
from onestop.server.admin import AdminError, import_bundle, open_db
from onestop.server.keys import server_signer
from onestop.services import attachments
from onestop.services.desk import Desk
from onestop.services.setting_keys import PEER_KEY_PREFIX
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import bundles
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.services.sync.files import files_queue
from onestop.store.files import files_dir
from onestop.wire.base import b64e
from onestop.wire.bundle import BUNDLE_FORMAT_V2, encode_sealed_bundle
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    enroll,
    make_desk,
    passphrase,
    random_work,
    receive,
)
from tests.services.sync.proxy import FaultProxy
from tests.services.sync.test_files_lane import chunk_puts, random_pdf


def chunk_files(desk: Desk) -> set[Path]:
    folder = files_dir(desk.store.path)
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


class Pair:
    """A field laptop with scanned files and the office desk of the same commune."""

    def __init__(self, tmp_path: Path, n: int, sizes: list[int]) -> None:
        rng = random.Random(n)
        self.cf, co = Clock(), Clock()
        self.field = make_desk(tmp_path / "field.sqlite", n=n, desk_no=2, clock=self.cf)
        self.office = make_desk(tmp_path / "office.sqlite", n=n, desk_no=1, clock=co)
        random_work(self.field, self.cf, rng, 5)
        self.files: list[tuple[str, str, bytes]] = []  # (dossier, sha256, data)
        for size in sizes:
            code = receive(self.field, self.cf, rng)
            data = random_pdf(rng, size)
            a = attachments.attach(self.field, code, 1, data, pages=1, paper_pages=1)
            self.files.append((code, a.sha256, data))
        self.signer = sync_enroll.desk_signer(self.field, passphrase, create=True)
        self.office_key = sync_enroll.desk_signer(self.office, passphrase, create=True)
        self.field.set_setting(
            PEER_KEY_PREFIX + self.office.identity.desk_id,
            f"{self.office_key.alg}:{b64e(self.office_key.public_key_bytes())}",
        )
        self.usb = tmp_path / "usb"
        self.usb.mkdir()

    def export(self) -> bundles.BundleExport:
        done = bundles.export_bundle_files(self.field, self.usb, signer=self.signer, from_seq=1)
        assert done is not None
        return done

    def close(self) -> None:
        self.field.close()
        self.office.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    # A small file, and one past INLINE_CHUNKS chunks (its manifest names a chunk list).
    p = Pair(tmp_path, 45, [150 * 1024, INLINE_CHUNKS * CHUNK_SIZE + 5000])
    yield p
    p.close()


def test_desk_to_desk_files_arrive_whole(pair: Pair) -> None:
    done = pair.export()
    assert done.files == 2 and not done.left_out
    assert done.file_bytes >= sum(len(d) for _, _, d in pair.files)
    got = bundles.import_bundle(pair.office, done.path, signer=pair.office_key)
    assert got.files == 2 and got.added > 0
    assert sync_apply.desk_digest(pair.office) == sync_apply.desk_digest(pair.field)
    for code, sha, data in pair.files:
        assert attachments.open_file(pair.office, code, sha[:12]) == data
    assert attachments.verify_files(pair.office).ok
    # The office store keeps them under its own key: no page bytes on its disk.
    piece = pair.files[0][2][CHUNK_SIZE : CHUNK_SIZE + 256]
    assert not any(piece in p.read_bytes() for p in chunk_files(pair.office))
    # The garbage run keeps another desk's files (they are referenced by its events).
    assert attachments.collect_garbage(pair.office, min_age_s=0) == 0
    # Importing it again adds nothing and stores nothing new.
    before = chunk_files(pair.office)
    again = bundles.import_bundle(pair.office, done.path, signer=pair.office_key)
    assert again.added == 0 and chunk_files(pair.office) == before


def _export_with(pair: Pair, monkeypatch: pytest.MonkeyPatch, change: Any) -> Path:
    """Export through the real path with the carried files/chunks changed before sealing."""
    real = bundles._carry

    def patched(desk: Desk, first: int, last: int) -> tuple[list[str], list[bytes], list[str]]:
        files, chunks, left = real(desk, first, last)
        files, chunks = change(files, chunks)
        return files, chunks, left

    monkeypatch.setattr(bundles, "_carry", patched)
    return pair.export().path


def _flip(chunks: list[bytes]) -> list[bytes]:
    out = list(chunks)
    out[1] = bytes([out[1][0] ^ 1]) + out[1][1:]
    return out


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda f, c: (f, _flip(c)), "thiếu khối"),  # an altered chunk no longer has its id
        (lambda f, c: (f, c[:-1]), "thiếu khối"),  # a chunk missing
        (lambda f, c: (f, [*c, b"junk" * 10]), "không thuộc tệp nào"),
        (lambda f, c: ([*f, "ab" * 32], c), "không có sự kiện đính kèm"),
    ],
)
def test_bad_or_missing_chunks_refuse_the_whole_bundle(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, change: Any, says: str
) -> None:
    path = _export_with(pair, monkeypatch, change)
    before = sync_apply.desk_digest(pair.office)
    with pytest.raises(sync_base.SyncError, match=says) as e:
        bundles.import_bundle(pair.office, path, signer=pair.office_key)
    assert "Chưa nhận gì" in str(e.value)
    assert sync_apply.desk_digest(pair.office) == before  # no event applied
    assert chunk_files(pair.office) == set()  # no chunk stored


def test_over_the_budget_a_file_waits_and_the_events_go(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundles, "MAX_CARRIED_BYTES", 1024 * 1024)
    done = pair.export()
    assert done.files == 1 and len(done.left_out) == 1
    assert "vượt giới hạn" in done.left_out[0]
    got = bundles.import_bundle(pair.office, done.path, signer=pair.office_key)
    assert got.files == 1
    assert sync_apply.desk_digest(pair.office) == sync_apply.desk_digest(pair.field)
    small_code, small_sha, small = pair.files[0]
    assert attachments.open_file(pair.office, small_code, small_sha) == small


def test_a_v2_bundle_is_still_read(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        bundles,
        "encode_sealed_bundle",
        functools.partial(encode_sealed_bundle, fmt=BUNDLE_FORMAT_V2),
    )
    done = bundles.export_bundle_files(
        pair.field, pair.usb, signer=pair.signer, from_seq=1, with_files=False
    )
    assert done is not None and done.files == 0
    got = bundles.import_bundle(pair.office, done.path, signer=pair.office_key)
    assert got.added > 0 and got.files == 0
    assert sync_apply.desk_digest(pair.office) == sync_apply.desk_digest(pair.field)


def test_into_the_province_then_the_files_lane_sends_nothing(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(46)
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=46, clock=clock)
    random_work(desk, clock, rng, 5)
    code = receive(desk, clock, rng)
    data = random_pdf(rng, 200 * 1024)
    a = attachments.attach(desk, code, 1, data, pages=1, paper_pages=1)
    proxy = FaultProxy(sqlite_server.port).start()
    enroll(desk, sqlite_server.db_url, proxy.url)
    signer = sync_enroll.desk_signer(desk, passphrase)
    done = bundles.export_bundle_files(desk, tmp_path, signer=signer)
    assert done is not None and done.files == 1
    db = open_db(sqlite_server.db_url)
    try:
        out = import_bundle(db, done.path)
        assert out.files == 1 and out.inserted > 0
        found = server_files.dossier_files(db, code)
        assert [(f.sha256, ok) for f, ok in found] == [(a.sha256, True)]
        store = server_files.open_store(db, server_signer(db))
        got = b"".join(server_files.stream_file(store, server_files.chunk_ids(store, found[0][0])))
        assert hashlib.sha256(got).hexdigest() == a.sha256 and got == data
        assert import_bundle(db, done.path).replay  # again: nothing new, no error
    finally:
        db.close()
    # Online later: the files lane's commit finds the file complete; no chunk is sent.
    proxy.reset_stats()
    try:
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
        assert files_queue(desk).files == 0
        assert chunk_puts(proxy) == []
    finally:
        proxy.close()
        desk.close()


def test_province_refuses_a_bad_chunk_and_stores_nothing(
    sqlite_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(47)
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=47, clock=clock)
    code = receive(desk, clock, rng)
    attachments.attach(desk, code, 1, random_pdf(rng, 150 * 1024), pages=1, paper_pages=1)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    signer = sync_enroll.desk_signer(desk, passphrase)
    real = bundles._carry
    monkeypatch.setattr(
        bundles, "_carry", lambda d, f, la: (lambda r: (r[0], _flip(r[1]), r[2]))(real(d, f, la))
    )
    done = bundles.export_bundle_files(desk, tmp_path, signer=signer)
    assert done is not None
    db = open_db(sqlite_server.db_url)
    try:
        with pytest.raises(AdminError, match="thiếu khối.*Chưa nhận gì"):
            import_bundle(db, done.path)
        assert server_files.dossier_files(db, code) == []  # not even the events
    finally:
        db.close()
    desk.close()
