"""``onestop serve --workers N``: the workers die with their master (server/run.py), so a
SIGKILLed master leaves no orphan holding the port and a restart on the same port works."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.server.serve_process import Serve, alive, children
from tests.services.sync.helpers import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def _workers(master: int, want: int, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    found: set[int] = set()
    while time.monotonic() < deadline:
        found = children(master)
        if len(found) >= want:
            return found
        time.sleep(0.1)
    raise AssertionError(f"master {master} has children {found}, want {want}")


def test_killing_the_master_stops_its_workers_and_the_port_is_free_again(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    port = free_port()
    first = Serve(db_url, port, "--workers", "2")
    pids: set[int] = set()
    try:
        first.wait_healthy()
        pids = _workers(first.proc.pid, 2)  # 2 workers (and multiprocessing's helpers, if any)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        assert not [p for p in pids if alive(p)], f"orphans still running: {first.output()}"
    finally:
        for p in pids:  # never leak a process from a failed run
            if alive(p):
                os.kill(p, signal.SIGKILL)
        first.close()

    second = Serve(db_url, port, "--workers", "2")
    try:
        second.wait_healthy()  # "address already in use" would exit it instead
        assert second.proc.poll() is None
    finally:
        second.close()
