"""The files lane against a real `onestop serve` (SQLite), through the fault proxy.

Scanned papers reach the province behind the events, in content-addressed chunks: byte for
byte, never in front of a batch, resumable after a cut or a killed desk, and stored once when
two desks send the same file.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import pikepdf
import pytest

from onestop.domain.attachments import CHUNK_SIZE
from onestop.server.admin import open_db
from onestop.server.web.staff import add_staff
from onestop.services import attachments
from onestop.services.desk import Desk
from onestop.services.setting_keys import S_FILES_MAX_KBPS, S_FILES_OFFICE_HOURS_ONLY
from onestop.services.sync import client as sync
from onestop.services.sync.enroll import desk_signer
from onestop.services.sync.files import FilesProgress, files_budget, files_queue
from onestop.wire.base import now_epoch
from onestop.wire.chunks import (
    CHUNK_PATH,
    COMMIT_PATH,
    MISSING_PATH,
    CommitRequest,
    body_digest,
    chunk_path,
    decode_ids,
    encode_ids,
)
from onestop.wire.messages import auth_token
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
    random_work,
    receive,
)
from tests.services.sync.proxy import FaultProxy

STAFF_PASSWORD = "Cán-bộ-tỉnh-mật-khẩu-dài-2026!"


def random_pdf(rng: random.Random, noise: int) -> bytes:
    """A valid one-page PDF carrying ``noise`` incompressible bytes (several chunks)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj[pikepdf.Name("/OnestopNoise")] = pikepdf.Stream(pdf, rng.randbytes(noise))
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def chunk_puts(proxy: FaultProxy) -> list[str]:
    """Every chunk upload the proxy saw (answered or cut), in order. (A dropped response is
    logged twice: as the fault, then with the server's status; it is one upload.)"""
    return [
        p
        for p, what in proxy.stats.log
        if p.startswith(CHUNK_PATH + "/")
        and not p.startswith(MISSING_PATH)
        and what != "drop_response"
    ]


def server_chunks(server: ServerProcess) -> list[Path]:
    folder = Path(server.db_url.removeprefix("sqlite:///")).parent / "chunks"
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp")]


def staff_download(server: ServerProcess, code: str, sha256: str) -> bytes:
    db = open_db(server.db_url)
    try:
        try:
            add_staff(db, "canbo.files", STAFF_PASSWORD)
        except Exception:  # noqa: BLE001 - already created by an earlier test of the module
            pass
    finally:
        db.close()
    with httpx.Client(base_url=server.url, timeout=10) as web:
        assert web.get(f"/api/v1/province/dossiers/{code}/files/{sha256}").status_code == 401
        r = web.post(
            "/province/login",
            data={"username": "canbo.files", "password": STAFF_PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        r = web.get(f"/api/v1/province/dossiers/{code}/files")
        assert r.status_code == 200, Path(server.log.name).read_text()[-3000:]
        listing = r.json()
        assert [f["sha256"] for f in listing["files"] if f["on_server"]] == [sha256]
        r = web.get(f"/api/v1/province/dossiers/{code}/files/{sha256[:12]}")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        return r.content


def attached_desk(tmp_path: Path, n: int, data: bytes) -> tuple[Desk, str, str]:
    clock = Clock()
    rng = random.Random(n)
    desk = make_desk(tmp_path / f"desk{n}.sqlite", n=n, clock=clock)
    codes = random_work(desk, clock, rng, 20)
    code = receive(desk, clock, rng)
    a = attachments.attach(desk, code, 1, data, pages=1, paper_pages=1)
    random_work(desk, clock, rng, 5, codes)  # dossiers received after the big scan
    return desk, code, a.sha256


def test_file_reaches_province_byte_identical_behind_the_events(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    data = random_pdf(random.Random(1), 300 * 1024)
    n_chunks = -(-len(data) // CHUNK_SIZE)
    assert n_chunks >= 5
    desk, code, sha = attached_desk(tmp_path, 61, data)
    enroll(desk, sqlite_server.db_url, proxy.url)
    assert files_queue(desk).files == 1
    assert files_queue(desk).bytes_left == len(data)
    seen: list[FilesProgress] = []

    report = sync.sync_once(
        desk, passphrase_provider=passphrase, options=FAST, files_progress=seen.append
    )
    assert report.ok, report.error
    assert_converged(desk, sqlite_server.db_url)

    # Events first: every batch was answered before the first request of the files lane.
    paths = [p for p, _ in proxy.stats.log]
    last_batch = max(i for i, p in enumerate(paths) if p.startswith("/sync/v1/batches"))
    first_file = min(
        i for i, p in enumerate(paths) if p.startswith(("/sync/v1/chunks", "/sync/v1/files"))
    )
    assert last_batch < first_file
    assert len(chunk_puts(proxy)) == n_chunks
    assert [p.committed for p in seen] == [False] * n_chunks + [True], (
        files_queue(desk),
        proxy.stats.log[-4:],
        Path(sqlite_server.log.name).read_text()[-3000:],
    )
    assert seen[-1].bytes_left == 0

    queue = files_queue(desk)
    assert (queue.files, queue.bytes_left, queue.last_error) == (0, 0, None)
    assert queue.last_progress is not None
    # The province holds it, byte for byte, and hands it to an authorised staff member only.
    assert staff_download(sqlite_server, code, sha) == attachments.open_file(desk, code, sha)
    assert hashlib.sha256(data).hexdigest() == sha

    # A second run sends nothing: the file is confirmed, no request at all for it.
    proxy.reset_stats()
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
    assert report.ok
    assert not [p for p, _ in proxy.stats.log if "/chunks" in p or "/files" in p]
    desk.close()


def test_cut_mid_file_resends_at_most_the_chunk_in_flight(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    data = random_pdf(random.Random(2), 400 * 1024)
    n_chunks = -(-len(data) // CHUNK_SIZE)
    desk, code, sha = attached_desk(tmp_path, 62, data)
    enroll(desk, sqlite_server.db_url, proxy.url)
    cuts = 2
    proxy.add("cut", path=CHUNK_PATH + "/", nth=2)
    proxy.add("drop_response", path=CHUNK_PATH + "/", nth=3)
    report = sync.sync_once(
        desk, passphrase_provider=passphrase, options=replace(FAST, timeout=1.0)
    )
    assert report.ok, report.error
    assert {"cut", "drop_response"} <= set(proxy.stats.faults_applied)
    assert files_queue(desk).files == 0
    assert len(chunk_puts(proxy)) <= n_chunks + cuts
    assert staff_download(sqlite_server, code, sha) == data
    desk.close()


def test_desk_killed_mid_upload_resumes(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    data = random_pdf(random.Random(3), 350 * 1024)
    n_chunks = -(-len(data) // CHUNK_SIZE)
    desk, code, sha = attached_desk(tmp_path, 63, data)
    enroll(desk, sqlite_server.db_url, proxy.url)

    class Killed(Exception):
        pass

    def kill_after_two(p: FilesProgress) -> None:
        if p.chunks_sent == 2:
            raise Killed

    with pytest.raises(Killed):
        sync.sync_once(
            desk, passphrase_provider=passphrase, options=FAST, files_progress=kill_after_two
        )
    assert files_queue(desk).files == 1
    assert_converged(desk, sqlite_server.db_url)  # the events went first, whole
    desk.close()

    # "Restarted": a fresh process opens the desk and syncs again.
    desk = Desk.open(tmp_path / "desk63.sqlite", clock=Clock())
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
    assert report.ok, report.error
    assert files_queue(desk).files == 0
    # The two chunks that reached the server before the kill were not sent again.
    assert len(chunk_puts(proxy)) == n_chunks
    assert staff_download(sqlite_server, code, sha) == data
    desk.close()


def test_two_desks_one_file_stored_once(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    data = random_pdf(random.Random(4), 200 * 1024 + 17)
    n_chunks = -(-len(data) // CHUNK_SIZE)
    before = len(server_chunks(sqlite_server))
    a, code_a, sha = attached_desk(tmp_path, 64, data)
    b, code_b, sha_b = attached_desk(tmp_path, 65, data)
    assert sha == sha_b
    for desk in (a, b):
        enroll(desk, sqlite_server.db_url, proxy.url)
    assert sync.sync_once(a, passphrase_provider=passphrase, options=FAST).ok
    assert len(chunk_puts(proxy)) == n_chunks
    proxy.reset_stats()
    assert sync.sync_once(b, passphrase_provider=passphrase, options=FAST).ok
    # One round trip (the commit), no payload.
    assert chunk_puts(proxy) == []
    assert [p.split("?")[0] for p, _ in proxy.stats.log if p.startswith("/sync/v1/files")] == [
        "/sync/v1/files/commit"
    ]
    assert files_queue(b).files == 0
    assert len(server_chunks(sqlite_server)) == before + n_chunks
    assert staff_download(sqlite_server, code_b, sha) == data
    # At rest the server's chunks are sealed: no chunk file contains its plaintext.
    piece = data[CHUNK_SIZE : CHUNK_SIZE + 256]
    assert not any(piece in p.read_bytes() for p in server_chunks(sqlite_server))
    a.close()
    b.close()


def test_budget_setting(tmp_path: Path) -> None:
    desk = make_desk(tmp_path / "desk.sqlite", n=66)
    monday_10 = datetime(2026, 11, 2, 10, 0)
    monday_21 = datetime(2026, 11, 2, 21, 0)
    assert files_budget(desk, monday_10) == 0  # unlimited by default
    desk.set_setting(S_FILES_MAX_KBPS, "64")
    assert files_budget(desk, monday_10) == 8000
    assert files_budget(desk, monday_21) == 8000
    desk.set_setting(S_FILES_OFFICE_HOURS_ONLY, "1")
    assert files_budget(desk, monday_10) == 8000
    assert files_budget(desk, monday_21) == 0
    assert files_budget(desk, datetime(2026, 11, 8, 10, 0)) == 0  # a Sunday
    desk.close()


def test_endpoints_refuse_bad_input(sqlite_server: ServerProcess, tmp_path: Path) -> None:
    """Unsigned, body not matching its signature, a chunk not matching its id, a commit for an
    event the server does not have: each refused, nothing stored; the missing-query answers."""
    desk = make_desk(tmp_path / "desk.sqlite", n=67)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    signer = desk_signer(desk, passphrase)
    desk_id = desk.identity.desk_id
    good = random.Random(5).randbytes(1000)
    cid = hashlib.sha256(good).hexdigest()
    nonce = [0]

    def call(method: str, path: str, body: bytes, *, sign_body: bytes | None = None) -> int:
        nonce[0] += 1  # a state-changing token is accepted once only
        params = {"b": body_digest(body if sign_body is None else sign_body), "n": str(nonce[0])}
        query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        token = auth_token(signer, desk_id, f"{method} {path}?{query}", now_epoch())
        headers = {"Authorization": f"Onestop {token}"}
        r = httpx.request(
            method, sqlite_server.url + path, params=params, content=body, headers=headers
        )
        return r.status_code

    assert httpx.put(sqlite_server.url + chunk_path(cid), content=good).status_code == 401
    assert call("PUT", chunk_path(cid), good, sign_body=b"other") == 401
    assert call("PUT", chunk_path(cid), good[:-1] + b"x") == 422
    assert call("PUT", chunk_path(cid), b"x" * (CHUNK_SIZE + 2048)) == 413
    assert call("POST", MISSING_PATH, encode_ids([cid] * 1025)) == 400
    assert call("PUT", chunk_path(cid), good) == 201
    assert call("PUT", chunk_path(cid), good) == 200  # idempotent
    other = hashlib.sha256(b"other").hexdigest()
    params = {"b": body_digest(encode_ids([cid, other])), "n": "77"}
    token = auth_token(signer, desk_id, f"POST {MISSING_PATH}?b={params['b']}&n=77", now_epoch())
    r = httpx.post(
        sqlite_server.url + MISSING_PATH,
        params=params,
        content=encode_ids([cid, other]),
        headers={"Authorization": f"Onestop {token}"},
    )
    assert r.status_code == 200 and decode_ids(r.content, empty=True) == [other]
    commit = CommitRequest(desk_id, 999, cid).encode()
    assert call("POST", COMMIT_PATH, commit) == 404
    assert call("POST", COMMIT_PATH, CommitRequest("00000-9", 1, cid).encode()) == 403
    desk.close()
