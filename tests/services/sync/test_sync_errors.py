"""Why a sync failed, in words a clerk can act on, from real failures.

Every failure a run meets (no link, the link dropped, the province server down, a login page in
the way, a damaged byte, a gzip bomb, a full disk) ends the run cleanly with ONE Vietnamese
sentence recorded as the last sync error: never an exception class name, never a bare status
code. Only a verdict the server signed holds events back; a damaged batch is sent again by the
next run. ``onestop desk status`` tells the last attempt, its error and the last *successful*
sync, which is not the enrollment.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from onestop.cli.main import main
from onestop.services import setting_keys
from onestop.services.desk import Desk, DeskError
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync
from onestop.services.sync.base import FailureKind, SyncReport
from onestop.services.sync.status import sync_status
from onestop.store import engine as store_engine
from onestop.store.engine import Store, StoreDiskFullError, StoreKeyError
from onestop.wire.base import MAX_PLAIN_BYTES
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_exactly_once,
    enroll,
    free_port,
    make_desk,
    passphrase,
    random_work,
)
from tests.services.sync.proxy import FaultProxy

QUICK = replace(FAST, max_attempts=2, timeout=3.0)
CLASS_NAME = re.compile(r"[A-Z][a-z]+Error\b")
VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]")
NGINX_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Wi-Fi</title></head><body><form action='/login'>"
    b"<input name='phone'><button>Dang nhap</button></form></body></html>"
)


def plain_words(text: str | None) -> str:
    """The recorded error is one Vietnamese sentence: no class name, no bare status code."""
    assert text, "no error recorded"
    assert not CLASS_NAME.search(text), text
    assert "HTTP 5" not in text and "HTTP 4" not in text, text
    assert VIETNAMESE.search(text), text
    return text


def assert_failed(desk: Desk, report: SyncReport, kind: FailureKind) -> None:
    assert not report.ok
    assert report.error_kind == kind.value, (report.error_kind, report.error)
    plain_words(report.error)
    assert desk.setting(setting_keys.S_LAST_ERROR) == report.error
    status = sync_status(desk)
    assert status.last_error == report.error and status.last_error_kind == kind.value
    if kind not in (FailureKind.REFUSED, FailureKind.REVOKED):
        assert status.held == (), status.held  # only a signed verdict holds events back


# --------------------------------------------------------------------------- a fake server


Answer = Callable[[str, str], tuple[int, dict[str, str], bytes]]


@contextmanager
def fake_server(answer: Answer) -> Iterator[str]:
    """A tiny HTTP/1.1 server on 127.0.0.1 answering every request with ``answer``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body = answer(self.command, self.path)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = _any

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


_communes = iter(range(40, 99))


@pytest.fixture
def desk(sqlite_server: ServerProcess, tmp_path: Path) -> Iterator[Desk]:
    """A desk of its own commune, enrolled on the real server, with events waiting."""
    n = next(_communes)
    clock = Clock()
    d = make_desk(tmp_path / "desk.sqlite", n=n, clock=clock)
    enroll(d, sqlite_server.db_url, sqlite_server.url)
    random_work(d, clock, random.Random(n), 12)
    yield d
    d.close()


def run(desk: Desk, url: str | None = None, **kw: Any) -> SyncReport:
    kw.setdefault("options", QUICK)
    return sync.sync_once(desk, url, passphrase_provider=passphrase, **kw)


# --------------------------------------------------------------------------- the classifier


def test_every_sentence_is_plain_vietnamese() -> None:
    for kind in FailureKind:
        found = sync_base.failure(kind, "Máy chủ ghi lý do.")
        assert found.kind is kind
        plain_words(found.message)
    held = {k for k in FailureKind if sync_base.failure(k).holds_back}
    assert held == {FailureKind.REFUSED, FailureKind.REVOKED}
    assert "Ổ đĩa đã đầy" in sync_base.failure(FailureKind.DISK_FULL).message
    assert (
        "Hãy giải phóng dung lượng rồi thử lại" in sync_base.failure(FailureKind.DISK_FULL).message
    )


# --------------------------------------------------------------------------- the link


def test_no_link_says_check_the_network(desk: Desk) -> None:
    # A name that never resolves (.invalid); a real transport, so plain http is allowed here.
    before = desk.outbox_size()
    report = run(desk, "http://onestop-khong-co-mang.invalid", transport=httpx.AsyncHTTPTransport())
    assert_failed(desk, report, FailureKind.NO_LINK)
    assert "Kiểm tra mạng" in (report.error or "")
    assert desk.outbox_size() == before


def test_a_port_nobody_listens_on_is_the_server_down(desk: Desk) -> None:
    report = run(desk, f"http://127.0.0.1:{free_port()}")
    assert_failed(desk, report, FailureKind.SERVER_DOWN)
    assert "không nhận kết nối" in (report.error or "")


def test_the_link_dropping_mid_request(
    desk: Desk, sqlite_server: ServerProcess, proxy: FaultProxy
) -> None:
    desk.set_setting(setting_keys.S_URL, proxy.url)
    for _ in range(6):
        proxy.add("drop_request")
    report = run(desk)
    assert_failed(desk, report, FailureKind.LINK_DROPPED)
    assert "ngắt giữa chừng" in (report.error or "")
    proxy.faults.clear()
    assert run(desk, options=FAST).ok
    assert_exactly_once(desk, sqlite_server.db_url)


def test_a_gateway_error_page_is_the_server_down_not_a_login_page(desk: Desk) -> None:
    seen: list[str] = []

    def answer(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        seen.append(path)
        return 502, {"Content-Type": "text/html"}, NGINX_502

    with fake_server(answer) as url:
        report = run(desk, url)
    assert_failed(desk, report, FailureKind.SERVER_DOWN)
    assert "Bad Gateway" not in (report.error or "") and "502" not in (report.error or "")
    assert len(seen) >= 2  # retried within the run before giving up


@pytest.mark.parametrize("status", [200, 302])
def test_a_login_page_in_the_way(desk: Desk, status: int) -> None:
    def answer(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if status == 302:
            headers["Location"] = "http://portal.example/login"
        return status, headers, LOGIN_PAGE

    before = desk.setting(setting_keys.S_ACKED, "0")
    with fake_server(answer) as url:
        report = run(desk, url)
    assert_failed(desk, report, FailureKind.LOGIN_PAGE)
    assert "đăng nhập" in (report.error or "")
    assert desk.setting(setting_keys.S_ACKED, "0") == before  # a portal's 200 is never an ack


class FlipOneByte(httpx.AsyncBaseTransport):
    """The link damages one byte of the first batch on its way to the server."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.flipped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/batches") and not self.flipped:
            body = bytearray(request.content)
            body[len(body) // 2] ^= 0x20
            request = httpx.Request(
                request.method,
                request.url,
                headers=request.headers,
                content=bytes(body),
                extensions=request.extensions,
            )
            self.flipped += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_damaged_byte_is_sent_again_not_held_back(
    desk: Desk, sqlite_server: ServerProcess
) -> None:
    flip = FlipOneByte()
    waiting = desk.outbox_size()
    report = run(desk, transport=flip)
    assert flip.flipped == 1
    assert_failed(desk, report, FailureKind.REFUSED_UNSIGNED)
    assert "không sự kiện nào bị giữ lại" in (report.error or "").lower()
    assert desk.setting(setting_keys.S_HELD, "[]") == "[]"
    assert desk.outbox_size() == waiting
    # The next run, on a clean link, sends them.
    report = run(desk, options=FAST)
    assert report.ok, report.error
    assert sync_status(desk).held == () and desk.outbox_size() == 0
    assert_exactly_once(desk, sqlite_server.db_url)


_BOMB: list[bytes] = []


def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzip: about 256 kB on the wire."""
    if not _BOMB:
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = bytes(1024 * 1024)
        _BOMB.append(b"".join(z.compress(block) for _ in range(256)) + z.flush())
    return _BOMB[0]


def test_a_gzip_bomb_answer_is_refused_quickly(desk: Desk) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 1024 * 1024 and 256 * 1024 * 1024 > MAX_PLAIN_BYTES

    def answer(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/cbor", "Content-Encoding": "gzip"}, bomb

    with fake_server(answer) as url:
        started = time.monotonic()
        report = run(desk, url)
        took = time.monotonic() - started
    assert_failed(desk, report, FailureKind.TOO_LARGE)
    assert took < 20, took
    assert report.bytes_down < len(bomb) + 64 * 1024  # stopped reading, not inflated to the end


# --------------------------------------------------------------------------- desk status


def status_json(desk: Desk) -> dict[str, Any]:
    r = CliRunner().invoke(
        main,
        ["desk", "status", "--db", str(desk.store.path), "--json"],
        env={"ONESTOP_NOW": "2026-11-02 10:00"},
    )
    assert r.exit_code == 0, r.output
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def test_desk_status_after_enrollment_only_has_no_success(desk: Desk) -> None:
    out = status_json(desk)
    assert out["last_sync_ok"] is None and out["last_sync_error"] is None
    assert out["last_sync_attempt"] is None
    assert out["offline"]["last_sync_ok"] is None
    assert out["offline"]["counted_from"]  # the offline days still count from enrollment
    # A failed attempt: the error is there, and still no success.
    report = run(desk, f"http://127.0.0.1:{free_port()}")
    out = status_json(desk)
    assert out["last_sync_error"] == report.error and out["last_sync_ok"] is None
    assert out["last_sync_error_kind"] == "server_down" and out["last_sync_attempt"]
    r = CliRunner().invoke(
        main,
        ["desk", "status", "--db", str(desk.store.path)],
        env={"ONESTOP_NOW": "2026-11-02 10:00"},
    )
    assert "chưa bao giờ" in r.stdout and "đăng ký" in r.stdout
    assert plain_words(report.error) in r.stdout
    # A success is the last success.
    assert run(desk, options=FAST).ok
    out = status_json(desk)
    assert out["last_sync_ok"] and out["last_sync_error"] is None
    assert out["offline"]["last_sync_ok"] == out["last_sync_ok"]


# --------------------------------------------------------------------------- a full disk


def _limit_pages(store: Store, extra: int) -> Callable[[], None]:
    """SQLite's own disk-full: the write connection may not grow the file past its size now
    plus ``extra`` pages (``PRAGMA max_page_count``: SQLITE_FULL past it). Returns the undo."""
    with store.read() as db:
        pages = int(db.connection().exec_driver_sql("PRAGMA page_count").scalar_one())

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + extra}")

    event.listen(store.write_engine, "connect", on_connect)
    store.write_engine.dispose()

    def undo() -> None:
        event.remove(store.write_engine, "connect", on_connect)
        store.write_engine.dispose()

    return undo


def test_a_sync_that_fills_the_disk_says_so(sqlite_server: ServerProcess, tmp_path: Path) -> None:
    clock = Clock()
    other = make_desk(tmp_path / "a.sqlite", n=30, desk_no=1, clock=clock)
    enroll(other, sqlite_server.db_url, sqlite_server.url)
    random_work(other, clock, random.Random(30), 150)
    assert run(other, options=FAST).ok
    other.close()

    desk = make_desk(tmp_path / "b.sqlite", n=30, desk_no=2, clock=clock)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    undo = _limit_pages(desk.store, extra=2)
    report = run(desk, options=FAST)  # must store ~150 events of the other desk: no room
    assert_failed(desk, report, FailureKind.DISK_FULL)
    assert report.error and report.error.startswith("Ổ đĩa đã đầy")
    assert report.recorded and report.received_events == 0
    assert sync_status(desk).last_ok_at is None
    # Reading still works, and the desk reopens without any talk of a wrong key.
    assert desk.setting(setting_keys.S_LAST_ERROR) == report.error
    undo()
    report = run(desk, options=FAST)
    assert report.ok, report.error
    assert report.received_events >= 150
    desk.close()


def _real_sqlite_full() -> OperationalError:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (x)")
    con.execute("PRAGMA max_page_count = 2")
    try:
        con.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as e:
        return OperationalError("INSERT", {}, e)
    finally:
        con.close()
    raise AssertionError("SQLite did not fill up")


def test_when_even_recording_fails_the_report_still_says_why(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _real_sqlite_full()

    def no_room(*_a: Any, **_k: Any) -> None:
        raise full

    monkeypatch.setattr(sync, "_record_run", no_room)
    report = run(desk, f"http://127.0.0.1:{free_port()}")  # fails, then cannot record it
    assert report.error_kind == FailureKind.DISK_FULL.value and not report.recorded
    plain_words(report.error)


def full_disk_on_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new store connection meets a full disk while it sets itself up (as SQLite does
    when it cannot grow the WAL index of a desk file on a full disk)."""
    real = store_engine.make_sqlite_engine

    def make(*args: Any, **kw: Any) -> Any:
        eng = real(*args, **kw)

        def fill(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            pages = cur.execute("PRAGMA page_count").fetchone()[0]
            cur.execute(f"PRAGMA max_page_count = {pages}")
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("CREATE TABLE IF NOT EXISTS _full_probe (x)")
                cur.execute("INSERT INTO _full_probe VALUES (zeroblob(1048576))")
            finally:
                if dbapi_conn.in_transaction:  # SQLITE_FULL may have rolled it back already
                    cur.execute("ROLLBACK")

        event.listen(eng, "connect", fill)
        return eng

    monkeypatch.setattr(store_engine, "make_sqlite_engine", make)


def test_opening_a_desk_on_a_full_disk_does_not_say_wrong_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.sqlite"
    make_desk(path, n=31).close()
    key = bytes(range(32))
    keyed = tmp_path / "k.sqlite"
    with Store(keyed, key=key).write() as db:
        db.connection().exec_driver_sql("CREATE TABLE t (x)")

    real = store_engine.make_sqlite_engine
    full_disk_on_open(monkeypatch)
    with pytest.raises(DeskError) as e:
        Desk.open(path, clock=Clock())
    assert "đầy" in str(e.value) and "sai khóa" not in str(e.value)
    assert "Khóa dữ liệu không mở được" not in str(e.value)
    with pytest.raises(StoreDiskFullError, match="Ổ đĩa đã đầy"):
        Store(keyed, key=key)

    # A wrong key is still a wrong key (and only then).
    monkeypatch.setattr(store_engine, "make_sqlite_engine", real)
    with pytest.raises(StoreKeyError) as wrong:
        Store(keyed, key=bytes(32))
    assert not isinstance(wrong.value, StoreDiskFullError)
    assert "sai khóa" in str(wrong.value)
    assert Desk.open(path, clock=Clock()).identity.commune_code == "20031"
