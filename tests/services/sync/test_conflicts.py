"""Two real desks of one commune act on the same dossier while both are offline: the
conflicting outcome is flagged to a person on both desks; identical actions are not."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from onestop.services.desk import DeskError
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
    receive,
)


def _sync(*desks: object) -> None:
    for d in desks:
        report = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)  # type: ignore[arg-type]
        assert report.ok, report.error


def test_concurrent_conflicting_actions_are_flagged_on_both_desks(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    ca, cb = Clock(), Clock()
    a = make_desk(tmp_path / "a.sqlite", n=42, desk_no=1, clock=ca)
    b = make_desk(tmp_path / "b.sqlite", n=42, desk_no=2, clock=cb)
    for d in (a, b):
        enroll(d, sqlite_server.db_url, sqlite_server.url)
    rng = random.Random(42)
    d1, d2 = receive(a, ca, rng), receive(a, ca, rng)
    _sync(a, b)
    assert b.get(d1).status == "received"

    # Both offline. D1: forwarded to two different people. D2: the same forward on both.
    ca.advance(30)
    cb.advance(45)
    a.act(d1, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
    b.act(d1, "forward", {"to": "Công chức Địa chính"})
    a.act(d2, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
    b.act(d2, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
    _sync(a, b, a)

    found_b = b.conflicts()
    assert [c.dossier for c in found_b] == [d1]  # D2's identical actions are not a conflict
    c = found_b[0]
    assert not c.seen and "handler" in c.fields
    assert {e.desk_id for e in c.events} == {a.identity.desk_id, b.identity.desk_id}
    for text in (d1, "Chuyển xử lý", "Công chức Địa chính", "Công chức Tư pháp - Hộ tịch"):
        assert text in c.description
    # The desk that noticed it recorded it in its log; the other desk got it by sync.
    found_a = a.conflicts()
    assert [x.id for x in found_a] == [c.id]
    assert not found_a[0].seen

    # Seen on one desk: that desk only (each clerk must see it), recorded once.
    assert b.mark_conflict_seen(c.id) is True
    assert b.mark_conflict_seen(c.id) is False
    assert b.conflicts(unseen_only=True) == []
    assert [x.id for x in a.conflicts(unseen_only=True)] == [c.id]
    with pytest.raises(DeskError):
        b.mark_conflict_seen("20042-09#1")
    with pytest.raises(DeskError):
        a.act(d1, "conflict", {})  # written by the software, never a clerk action
    _sync(b, a)
    seen_on_a = a.conflicts()[0]
    assert not seen_on_a.seen and [s[0] for s in seen_on_a.seen_by] == [b.identity.desk_id]

    # The notes change no dossier: desks and server still hold the same state everywhere.
    for d in (a, b):
        assert_converged(d, sqlite_server.db_url)
    assert sync_apply.desk_digest(a) == sync_apply.desk_digest(b)
    assert a.get(d1).handler == b.get(d1).handler
    a.close()
    b.close()
