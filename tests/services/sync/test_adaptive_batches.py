"""The adaptive batch size through the fault proxy: a server too slow to answer within the
client's timeout halves the next batch; acks double it again."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
    random_work,
)
from tests.services.sync.proxy import FaultProxy


def test_batch_size_halves_on_timeout_and_grows_back(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=41, clock=clock)
    random_work(desk, clock, random.Random(41), 150)
    enroll(desk, sqlite_server.db_url, proxy.url)
    assert desk.outbox_size() > 100
    # One batch in flight so the sequence of sizes is deterministic; the 2nd batch POST gets
    # its answer 2.5 s late, after the client's 1 s timeout (the server did commit it).
    options = replace(FAST, timeout=1.0, start_batch=8, window=1, download=False, reference=False)
    proxy.add("slow", nth=2, seconds=2.5)
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=options)
    assert report.ok, report.error
    assert "slow" in proxy.stats.faults_applied
    assert report.timeouts == 1 and report.retries >= 1
    sizes = report.batch_sizes
    # 8 acked -> 16 (times out) -> 8 (the server had committed the 16: a signed 409 moves
    # the desk past them, no growth) -> 8 acked -> 16 -> 32: growing again on success.
    assert sizes[:6] == [8, 16, 8, 8, 16, 32], sizes
    assert max(sizes) <= options.max_batch
    as_json = report.as_dict()
    assert as_json["timeouts"] == 1 and as_json["batch_sizes"] == sizes
    assert_converged(desk, sqlite_server.db_url)
    desk.close()
