"""Issue 16 (10): a desk clock days ahead. The desk knows its offset from the province's signed
time and warns at intake (never blocks it); the province marks the events whose time is ahead
of its receipt and counts them per desk."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from onestop.domain.clock import vn_now
from onestop.server.admin import desk_list, open_db
from onestop.services.demo import _person
from onestop.services.desk import Desk, IntakeForm
from onestop.services.setting_keys import S_SKEW
from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
)


def _receive(desk: Desk, rng: random.Random) -> str:
    form = IntakeForm(procedure_code="1.001193", applicant=_person(rng, desk.clock()), fee_vnd=0)
    return desk.receive(form).code


def _ahead_counts(db_url: str) -> dict[str, int]:
    db = open_db(db_url)
    try:
        return {r["desk_id"]: r["events_ahead"] for r in desk_list(db)}
    finally:
        db.close()


def test_fast_desk_clock_warns_at_intake_and_is_marked_at_the_province(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(10)
    fast_clock, good_clock = Clock(vn_now() + timedelta(days=3)), Clock(vn_now())
    fast = make_desk(tmp_path / "fast.sqlite", n=91, desk_no=1, clock=fast_clock)
    good = make_desk(tmp_path / "good.sqlite", n=91, desk_no=2, clock=good_clock)
    assert fast.clock_warning() is None  # nothing known before the first signed server time
    for d in (fast, good):
        enroll(d, sqlite_server.db_url, sqlite_server.url)
    assert int(fast.setting(S_SKEW)) < -2 * 86400

    code = _receive(fast, rng)  # intake is not blocked
    warning = fast.clock_warning()
    assert warning is not None and "NHANH" in warning and "3 ngày" in warning
    assert fast.get(code).received_at > vn_now() + timedelta(days=2)
    _receive(good, rng)
    assert good.clock_warning() is None

    for d in (fast, good):
        report = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
    counts = _ahead_counts(sqlite_server.db_url)
    assert counts[good.identity.desk_id] == 0
    assert counts[fast.identity.desk_id] >= 1  # the receive (and anything after it)
    # A clock days behind warns too, with the other direction.
    fast_clock.now = vn_now() - timedelta(hours=2)
    report = sync.sync_once(fast, passphrase_provider=passphrase, options=FAST)
    assert report.ok, report.error
    behind = fast.clock_warning()
    assert behind is not None and "CHẬM" in behind and "2 giờ" in behind
    assert_converged(good, sqlite_server.db_url)
    fast.close()
    good.close()
