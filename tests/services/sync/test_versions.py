"""Mixed versions against one real ``onestop serve`` (issue 18).

The server plays release N = 4 (a subprocess, tests/services/sync/release_main.py). Desks play
N, N-1 (which also does not know the ``forward`` event kind: a release from before it was
added), N-2, N-3 and N+1, in this process: ``as_release`` patches the protocol constant and the
event decode table around each desk's calls, which is all that tells two releases apart on the
wire (the README says so). Both directions of the feed are exercised, and N-1's update at the
end folds the event it could not read, with no manual step.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onestop.domain import events
from onestop.domain.events import EventKind, is_unknown
from onestop.domain.lifecycle import UNKNOWN_ACTION_LABEL, Status, action_label
from onestop.services.desk import Desk
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from onestop.services.sync.base import FailureKind, SyncError, SyncReport
from onestop.store.models import EventRow
from onestop.wire import version
from tests.services.sync import helpers
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    commune,
    enroll,
    make_desk,
    passphrase,
    random_work,
    receive,
    server_digest,
)
from tests.services.sync.release_main import as_release

N = 4
COMMUNE = 7


@pytest.fixture(scope="module")
def server_n(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('server-n') / 'server.sqlite'}"
    mp = pytest.MonkeyPatch()
    mp.setattr(
        helpers, "_onestop_cmd", lambda: [sys.executable, "-m", "tests.services.sync.release_main"]
    )
    mp.setenv("ONESTOP_SIM_PROTOCOL", str(N))
    server = ServerProcess(url)
    try:
        server.start()
    finally:
        mp.undo()  # only the server process plays release N; this one is patched per call
    try:
        yield server
    finally:
        server.close()


def _sync(desk: Desk) -> SyncReport:
    return sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)


def test_health_and_every_answer_say_the_protocol(server_n: ServerProcess):
    resp = httpx.get(f"{server_n.url}/sync/v1/health")
    assert resp.json()["protocol"] == N and resp.headers[version.HEADER] == str(N)


def test_older_and_newer_desks_against_one_server(server_n: ServerProcess, tmp_path: Path):
    rng = random.Random(18)
    ca, cb, cc = Clock(), Clock(), Clock()
    new = make_desk(tmp_path / "new.sqlite", n=COMMUNE, desk_no=1, clock=ca)  # release N
    old = make_desk(tmp_path / "old.sqlite", n=COMMUNE, desk_no=2, clock=cb)  # N-1
    older = make_desk(tmp_path / "older.sqlite", n=COMMUNE, desk_no=3, clock=cc)  # N-2
    hidden = ("forward",)  # N-1 predates this kind
    with as_release(N):
        enroll(new, server_n.db_url, server_n.url)
    with as_release(N - 1, hidden):  # enrollment, signed requests and reference data work
        path = old.store.path
        old.store.close()
        old = Desk.open(path, clock=cb, actor="Lò Thị Mai")  # started by release N-1
        enroll(old, server_n.db_url, server_n.url)
        first = _sync(old)
        assert first.ok, first.error
    with as_release(N - 2):
        enroll(older, server_n.db_url, server_n.url)

    # The newer desk forwards a dossier: an event kind the N-1 desk does not know.
    with as_release(N):
        code = receive(new, ca, rng)
        ca.advance(30)
        new.act(code, EventKind.FORWARD, {"to": "Công chức Tư pháp - Hộ tịch"})
        random_work(new, ca, rng, 12)
        assert _sync(new).ok
    with as_release(N - 1, hidden):
        codes_old = random_work(old, cb, rng, 15)
        rep = _sync(old)  # up: its batches (N-1) are accepted; down: the unknown kind
        assert rep.ok, rep.error
        assert rep.sent_events > 0 and rep.received_events > 0
        state = old.get(code)
        assert state.status == Status.RECEIVED  # the forward is not folded in
        shown = [action_label(e.kind) for e in old.history(code)]
        assert UNKNOWN_ACTION_LABEL in shown
        # An N-1 desk may act on the dossier as it understands it; nothing is fatal.
        assert _sync(old).ok
    with as_release(N - 2):
        random_work(older, cc, rng, 8)
        rep = _sync(older)
        assert rep.ok, rep.error
        assert rep.received_events > 0
    with as_release(N):  # the newer desk gets both older desks' events
        rep = _sync(new)
        assert rep.ok, rep.error
        assert all(new.get(c) is not None for c in codes_old)

    with old.store.read() as db:
        stored = db.get(EventRow, (new.identity.desk_id, 2))
    assert stored is not None and stored.kind == f"unknown:{events.KIND_CODES[EventKind.FORWARD]}"

    # N-1 is updated: the next start folds the forward in, with no step by anyone.
    old.store.close()
    updated = Desk.open(path, clock=cb, actor="Lò Thị Mai")
    assert updated.get(code).status == Status.FORWARDED
    assert all(not is_unknown(e.kind) for e in updated.history(code))
    with updated.store.read() as db:
        assert db.get(EventRow, (new.identity.desk_id, 2)).kind == "forward"  # type: ignore[union-attr]
    with as_release(N):
        for d in (updated, older, new):
            assert _sync(d).ok
    assert (
        sync_apply.desk_digest(updated)
        == sync_apply.desk_digest(new)
        == server_digest(server_n.db_url, commune(COMMUNE))
    )
    assert updated.rebuild(fix=False).ok


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        (N - 3, "cập nhật onestop lên phiên bản 0.2.0"),  # too old: the desk is told to update
        (N + 1, "cập nhật onestop trên máy chủ lên phiên bản 0.5.0"),  # newer than the server
    ],
)
def test_incompatible_desk_is_refused_with_the_fix(
    server_n: ServerProcess, tmp_path: Path, protocol: int, expected: str
):
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=COMMUNE + protocol, desk_no=1, clock=clock)
    with as_release(protocol), pytest.raises(SyncError) as err:
        enroll(desk, server_n.db_url, server_n.url)
    assert expected in str(err.value)
    # Enrolled at N, then left behind (or run ahead): the sync says what to update, and the
    # events stay on the desk for the next run.
    with as_release(N):
        enroll(desk, server_n.db_url, server_n.url)
    random_work(desk, clock, random.Random(protocol), 5)
    outbox = desk.outbox_size()
    with as_release(protocol):
        rep = _sync(desk)
    assert not rep.ok and rep.error_kind == FailureKind.VERSION.value
    assert expected in (rep.error or "")
    assert desk.outbox_size() == outbox > 0
    with as_release(N):
        assert _sync(desk).ok and desk.outbox_size() == 0


def test_a_header_that_is_no_version_is_refused(server_n: ServerProcess):
    resp = httpx.post(f"{server_n.url}/sync/v1/enroll", headers={version.HEADER: "x1"}, json={})
    assert resp.status_code == 426 and resp.json()["error"] == "bad_version"
    assert "cập nhật onestop" in resp.json()["message"]


def test_the_rule_n_serves_n_minus_1_and_n_minus_2(server_n: ServerProcess):
    # Pure rule: N accepts N, N-1, N-2 only.
    assert [version.check_desk(d, 4).ok for d in range(1, 7)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert version.parse(None) == 1 and version.parse("") == 1  # desks before the header
    assert version.parse("0") is None and version.parse("-1") is None
    assert os.environ.get("ONESTOP_SIM_PROTOCOL") is None  # only the server plays N
