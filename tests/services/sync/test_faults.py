"""Fault injection between a desk and a real `onestop serve` (SQLite), through a loopback proxy.

Every fault hits the second batch of an upload (after some progress). Whatever it is, the same
sync run recovers, and afterwards — and again after more work and a clean sync — the server
holds each event exactly once and its state of every dossier equals the desk's.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    assert_exactly_once,
    enroll,
    make_desk,
    passphrase,
    random_work,
)
from tests.services.sync.proxy import FaultProxy

FAULTS = [
    "refuse",
    "drop_request",
    "drop_response",
    "duplicate",
    "reorder",
    "http500",
    "http415",
    "cut",
    "truncate",
    "portal",
    "restart",
]


@pytest.mark.parametrize("fault", FAULTS)
def test_sync_survives(
    fault: str, proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    n = 10 + FAULTS.index(fault)
    clock = Clock()
    rng = random.Random(n)
    desk = make_desk(tmp_path / "desk.sqlite", n=n, clock=clock)
    codes = random_work(desk, clock, rng, 70)
    enroll(desk, sqlite_server.db_url, proxy.url)
    # Batches of 25 to start with, so that ~80 events make several batches for the fault to
    # hit the second of (the default start, 100, would send them in one).
    options = replace(FAST, start_batch=25)
    if fault == "cut":
        options = replace(options, timeout=1.0)
    if fault == "restart":
        options = replace(options, max_attempts=40)
    proxy.add(fault, nth=2, seconds=0.5)
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=options)
    assert report.ok, report.error
    assert fault in proxy.stats.faults_applied
    if fault not in ("duplicate", "reorder", "http415"):
        assert report.retries >= 1
    if fault == "http415":
        assert report.encoding == "gzip"
    assert_converged(desk, sqlite_server.db_url)

    random_work(desk, clock, rng, 25, codes)
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
    assert report.ok, report.error
    assert_converged(desk, sqlite_server.db_url)
    desk.close()


def test_captive_portal_is_never_an_ack(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
):
    """A portal answering every request with 200 HTML: nothing counts as sent, outbox intact."""
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=30, clock=clock)
    random_work(desk, clock, random.Random(1), 20)
    enroll(desk, sqlite_server.db_url, proxy.url)
    before = desk.outbox_size()
    for _ in range(8):
        proxy.add("portal")
    report = sync.sync_once(
        desk, passphrase_provider=passphrase, options=replace(FAST, max_attempts=4)
    )
    assert not report.ok and "xác nhận" in (report.error or "")
    assert desk.outbox_size() == before and desk.setting("sync_acked_seq", "0") == "0"
    assert desk.setting("last_sync_error") == report.error
    proxy.faults.clear()
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
    assert report.ok, report.error
    assert_exactly_once(desk, sqlite_server.db_url)
    assert desk.setting("last_sync_error") == ""
