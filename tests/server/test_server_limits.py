"""Slow and idle clients against a real ``onestop serve`` (server/run.py): a request head that
never completes, a body that stops, an idle kept-alive connection and a silent connection are
all closed within their limit; honest requests, including a slow but steady body, still work.

Raw sockets on 127.0.0.1; every wait is bounded in time.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.serve_process import Serve
from tests.services.sync.helpers import free_port

pytestmark = pytest.mark.slow

HEADER_S = 1.0
BODY_S = 1.0
KEEP_ALIVE_S = 1
SLACK_S = 2.0


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    db = tmp_path_factory.mktemp("limits") / "server.sqlite"
    server = Serve(
        f"sqlite:///{db}",
        free_port(),
        "--header-timeout",
        str(HEADER_S),
        "--body-timeout",
        str(BODY_S),
        "--keep-alive",
        str(KEEP_ALIVE_S),
        "--max-connections",
        "50",
    )
    try:
        server.wait_healthy()
        yield server
    finally:
        server.close()


def _connect(serve: Serve) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
    s.settimeout(0.2)
    return s


def _read_until_closed(s: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; AssertionError if still open after ``within``."""
    start = time.monotonic()
    got = b""
    for _ in range(10_000):
        if time.monotonic() - start > within:
            break
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got, time.monotonic() - start
        if not chunk:
            return got, time.monotonic() - start
        got += chunk
    raise AssertionError(f"still open after {within} s; received {got[:200]!r}")


def _read_response(s: socket.socket, within: float = 5.0) -> bytes:
    """One whole response with a Content-Length (the connection stays open)."""
    start = time.monotonic()
    got = b""
    for _ in range(10_000):
        assert time.monotonic() - start < within, f"no whole response: {got[:200]!r}"
        head, sep, body = got.partition(b"\r\n\r\n")
        if sep:
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            if len(body) >= length:
                return got
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            continue
        assert chunk, f"closed mid-response: {got[:200]!r}"
        got += chunk
    raise AssertionError("unreachable")


def test_a_request_line_that_never_ends_is_cut_off(serve: Serve) -> None:
    with _connect(serve) as s:
        s.sendall(b"GET /sync/v1/hea")
        got, took = _read_until_closed(s, HEADER_S + SLACK_S)
    assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got
    assert took >= HEADER_S * 0.8


def test_trickling_the_head_does_not_extend_the_deadline(serve: Serve) -> None:
    line = b"GET /sync/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    start = time.monotonic()
    with _connect(serve) as s:
        closed = False
        for byte in line:  # a byte every 0.1 s: far more than HEADER_S in all
            if time.monotonic() - start > HEADER_S + SLACK_S:
                break
            try:
                s.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        if not closed:
            _read_until_closed(s, 0.5)
    assert time.monotonic() - start <= HEADER_S + SLACK_S + 0.5


def test_a_connection_that_sends_nothing_is_closed(serve: Serve) -> None:
    with _connect(serve) as s:
        got, _ = _read_until_closed(s, HEADER_S + SLACK_S)
    assert got == b""


def test_a_body_that_stops_gets_408(serve: Serve) -> None:
    head = (
        b"POST /sync/v1/enroll HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with _connect(serve) as s:
        s.sendall(head + b"{" + b" " * 9)
        got, took = _read_until_closed(s, BODY_S + SLACK_S)
    assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got
    assert took >= BODY_S * 0.8


def test_an_idle_kept_alive_connection_is_closed(serve: Serve) -> None:
    with _connect(serve) as s:
        s.sendall(b"GET /sync/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(s).startswith(b"HTTP/1.1 200 ")
        got, _ = _read_until_closed(s, KEEP_ALIVE_S + SLACK_S)
    assert got == b""


def test_keep_alive_serves_several_requests(serve: Serve) -> None:
    with _connect(serve) as s:
        for _ in range(3):
            s.sendall(b"GET /sync/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_response(s).startswith(b"HTTP/1.1 200 ")
            time.sleep(KEEP_ALIVE_S / 4)


def test_a_slow_but_steady_body_is_not_cut_off(serve: Serve) -> None:
    body = b'{"alg": "ed25519", "public_key": "", "request": ""}'
    pieces = [body[i : i + 10] for i in range(0, len(body), 10)]
    head = (
        b"POST /sync/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with _connect(serve) as s:
        s.sendall(head)
        for piece in pieces:  # longer than BODY_S in all, never silent for BODY_S
            time.sleep(BODY_S / 3)
            s.sendall(piece)
        answer = _read_response(s)
    status = int(answer.split(b" ", 2)[1])
    assert status != 408 and 400 <= status < 500, answer[:300]


def test_normal_requests_still_work(serve: Serve) -> None:
    with httpx.Client(base_url=serve.url, timeout=5) as client:
        for _ in range(3):
            r = client.get("/sync/v1/health")
            assert r.status_code == 200
            assert r.json()["service"] == "onestop-server"


def test_the_server_log_has_no_traceback_for_slow_clients(serve: Serve) -> None:
    assert "Traceback" not in Path(serve.log.name).read_text(errors="replace")
