"""Issue 19 §4: two batches in flight never make the desk upload events twice.

The desk starts batch N+1 while N is still on its way; when N+1 reaches the server first (a
slower path for N, or N+1 simply shorter to verify), the server used to answer 409 and the desk
sent both again. Now the server holds N+1 briefly until N commits. Counted through a real
``onestop serve`` and the loopback proxy: every event crosses the link exactly once, and no
batch is refused as out of order."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_exactly_once,
    enroll,
    make_desk,
    passphrase,
    random_work,
)
from tests.services.sync.proxy import FaultProxy


def _batch_answers(proxy: FaultProxy) -> list[str]:
    return [status for path, status in proxy.stats.log if path.startswith("/sync/v1/batches")]


def test_an_overtaken_batch_is_not_sent_twice(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=71, clock=clock)
    random_work(desk, clock, random.Random(71), 120)
    enroll(desk, sqlite_server.db_url, proxy.url)
    events = desk.outbox_size()
    assert events > 60
    # Two in flight; the 2nd batch's request is held 0.6 s on its way, so the 3rd, sent on the
    # other connection once the 2nd's body left the desk, reaches the server first.
    options = replace(
        FAST, timeout=30.0, start_batch=20, max_batch=20, window=2, download=False, reference=False
    )
    proxy.add("delay", nth=2, seconds=0.6)
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=options, files=False)
    assert report.ok, report.error
    assert "delay" in proxy.stats.faults_applied
    assert "409" not in _batch_answers(proxy)
    # Every event went up exactly once: the batches the desk sent add up to its log.
    assert sum(report.batch_sizes) == events
    assert report.sent_events == events and desk.outbox_size() == 0
    assert_exactly_once(desk, sqlite_server.db_url)


def test_a_thin_link_without_faults_uploads_each_event_once(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=72, clock=clock)
    random_work(desk, clock, random.Random(72), 200)
    enroll(desk, sqlite_server.db_url, proxy.url)
    events = desk.outbox_size()
    proxy.throttle(64_000 / 8, 0.3)
    options = replace(FAST, timeout=30.0, download=False, reference=False)
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=options, files=False)
    assert report.ok, report.error
    assert "409" not in _batch_answers(proxy)
    assert sum(report.batch_sizes) == events
    assert_exactly_once(desk, sqlite_server.db_url)


def test_the_next_sync_starts_at_the_batch_size_the_last_one_reached(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=73, clock=clock)
    codes = random_work(desk, clock, random.Random(73), 220)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    # A long timeout: a batch slower than it would halve the size (another test's subject).
    options = replace(
        FAST, timeout=30.0, start_batch=25, max_batch=200, download=False, reference=False
    )
    first = sync.sync_once(desk, passphrase_provider=passphrase, options=options, files=False)
    assert first.ok, first.error
    # Two in flight: the second batch is cut before the first one's ack doubles the size.
    assert first.batch_sizes[:4] == [25, 25, 50, 100]
    assert desk.setting(sync.S_BATCH_SIZE) == "200"
    # A day of work later: one batch, not 25 + 50 + ... again (issue 19 §4).
    random_work(desk, clock, random.Random(74), 120, codes)
    pending = desk.outbox_size()
    assert 25 < pending <= 200
    second = sync.sync_once(desk, passphrase_provider=passphrase, options=options, files=False)
    assert second.ok, second.error
    assert second.batch_sizes == [pending]
    assert_exactly_once(desk, sqlite_server.db_url)
