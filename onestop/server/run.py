"""Running the provincial server: uvicorn, hardened against slow clients and orphaned workers.

``onestop serve`` calls :func:`serve`. Two things uvicorn does not do by itself are added here:

**Slow and idle clients.** uvicorn's h11 protocol times out only an idle kept-alive connection
(``timeout_keep_alive``). A client that connects and sends nothing, sends a request head one
byte at a time, or declares a body and stops sending it holds its socket (and, for a body, a
request task) for as long as it likes. :class:`GuardedH11Protocol` adds two read deadlines:

* the request head (request line and headers) must be complete within ``header_timeout``
  seconds of the connection opening, or of the first byte of the next request on a kept-alive
  connection — an absolute deadline, so trickling a byte at a time does not extend it;
* while a request body is being read, the client must send something at least every
  ``body_timeout`` seconds (an idle deadline, restarted by every chunk; it does not run while
  the application itself has paused reading).

On either deadline the client gets ``408 Request Timeout`` (if it sent anything and no response
has started) and the connection is closed. The application's own run time is not limited.
``limit_concurrency`` (``max_connections``) answers 503 beyond that many open connections per
worker, ``h11_max_incomplete_event_size`` caps the request head at 16 KiB, and
``timeout_graceful_shutdown`` bounds how long a stop waits for open requests.

**Workers outliving their master.** With ``--workers N`` uvicorn's supervisor spawns worker
processes that share its listening socket. If the master is killed (SIGKILL, OOM killer), the
workers used to keep serving with no supervisor, and every restart failed with "address already
in use". Each worker now dies with its master: :func:`worker_app` (the uvicorn app factory, run
at worker start) asks Linux for SIGTERM when the parent dies (``prctl(PR_SET_PDEATHSIG)``), and
a watchdog thread notices a changed parent pid on any system (SIGTERM, then a hard exit if the
graceful stop does not finish in time).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI

log = logging.getLogger("onestop.server")

LIMITS_ENV = "ONESTOP_SERVER_LIMITS"
MASTER_PID_ENV = "ONESTOP_SERVER_MASTER_PID"
MAX_HEAD_BYTES = 16 * 1024
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_WATCH_INTERVAL_S = 0.5
_RAW_408 = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 15\r\n"
    b"connection: close\r\n\r\n"
    b"Request Timeout"
)


@dataclass(frozen=True)
class Limits:
    """What ``onestop serve`` allows a client (the defaults are its option defaults)."""

    header_timeout: float = 10.0  # seconds to send the whole request head
    body_timeout: float = 30.0  # longest silence while sending a request body
    keep_alive: int = 5  # seconds an idle kept-alive connection stays open
    max_connections: int = 1000  # open connections per worker; beyond: 503
    graceful_shutdown: int = 10  # seconds a stop waits for open requests

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Limits:
        raw = os.environ.get(LIMITS_ENV)
        if not raw:
            return cls()
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError):
            log.warning("ignoring malformed %s=%r", LIMITS_ENV, raw)
            return cls()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a request-head deadline and a body idle deadline.

    One timer per connection, re-evaluated after every read and every finished response
    (:meth:`_rearm`): head deadline while the client owes a request head (and uvicorn's
    keep-alive timer is not already watching an idle connection), body deadline while it owes
    a body, none while the application works or the response is written.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = Limits.from_env()
        self._header_timeout = limits.header_timeout
        self._body_timeout = limits.body_timeout
        self._read_timer: asyncio.TimerHandle | None = None
        self._read_timer_kind: str | None = None  # "head" | "body"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._rearm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._rearm(fresh_data=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._rearm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = None
        self._read_timer_kind = None

    def _arm(self, kind: str, delay: float) -> None:
        self._cancel_read_timer()
        self._read_timer = self.loop.call_later(delay, self._read_timed_out, kind)
        self._read_timer_kind = kind

    def _rearm(self, *, fresh_data: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            self._cancel_read_timer()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.timeout_keep_alive_task is not None:
                self._cancel_read_timer()  # idle between requests: uvicorn's keep-alive timer
            elif self._read_timer_kind != "head":
                self._arm("head", self._header_timeout)  # absolute: trickling does not extend
        elif state is h11.SEND_BODY:
            if fresh_data or self._read_timer_kind != "body":
                self._arm("body", self._body_timeout)  # idle: every chunk restarts it
        else:
            self._cancel_read_timer()  # the request is in; the application has it

    def _read_timed_out(self, kind: str) -> None:
        self._read_timer = None
        self._read_timer_kind = None
        if self.transport.is_closing():
            return
        if kind == "body" and self.flow.read_paused:
            self._arm("body", self._body_timeout)  # the application is not reading: not late
            return
        started = self.cycle is not None and self.cycle.response_started and kind == "body"
        pending, _closed = self.conn.trailing_data
        if not started and (kind == "body" or pending):
            self.transport.write(_RAW_408)
        log.info("closing a connection from %s: request %s too slow", self.client, kind)
        self.transport.close()


# ----------------------------------------------------------------------------- workers


def _die_with_parent() -> bool:
    """Linux: SIGTERM this process when its parent dies. False where not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_master(master: int, grace: float) -> None:
    while os.getppid() == master:
        time.sleep(_WATCH_INTERVAL_S)
    log.warning("server master process %d is gone; worker %d stops", master, os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful stop
    time.sleep(grace + 5)
    os._exit(1)  # the graceful stop hung


def guard_worker() -> bool:
    """In a worker spawned by ``onestop serve``: die with the master. True if guarded."""
    raw = os.environ.get(MASTER_PID_ENV, "")
    if not raw.isdigit() or int(raw) == os.getpid():
        return False  # not under ``onestop serve``, or a single process (nothing to outlive)
    master = int(raw)
    _die_with_parent()
    grace = float(Limits.from_env().graceful_shutdown)
    threading.Thread(
        target=_watch_master, args=(master, grace), name="master-watchdog", daemon=True
    ).start()
    return True


def worker_app() -> FastAPI:
    """uvicorn factory of ``onestop serve``: guard the worker, then build the app."""
    guard_worker()
    from onestop.server.app import app_from_env

    return app_from_env()


def serve(*, host: str, port: int, workers: int, log_level: str, limits: Limits) -> None:
    """Run the server in the foreground until stopped (the database URL is in the environment)."""
    import uvicorn

    # Both reach the workers through the environment (uvicorn spawns them, config pickled).
    os.environ[LIMITS_ENV] = limits.to_env()
    os.environ[MASTER_PID_ENV] = str(os.getpid())
    uvicorn.run(
        "onestop.server.run:worker_app",
        factory=True,
        http="onestop.server.run:GuardedH11Protocol",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=log_level in ("info", "debug"),
        # Every byte counts on a 64 kbit/s link: no "server: uvicorn", no "date" header.
        server_header=False,
        date_header=False,
        timeout_keep_alive=limits.keep_alive,
        limit_concurrency=limits.max_connections,
        timeout_graceful_shutdown=limits.graceful_shutdown,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )
