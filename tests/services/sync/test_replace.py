"""A lost desk replaced the same day (issue 18), against a real ``onestop serve``.

The province revokes the old desk and issues a code (``onestop server replace-desk``); a fresh
desk enrolls with it, gets a new number and key, and brings the commune's whole history down
in signed columnar pages, surviving a cut link (it resumes where it stopped) and refusing a
tampered page; then it continues the old desk's open dossiers, and its sibling sees that. The
USB path (``export-snapshot`` → ``enroll --replace --from``) is checked the same way.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from onestop.cli.main import main as cli_main
from onestop.domain.events import EventKind
from onestop.services.desk import Desk
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from onestop.services.sync import replace as sync_replace
from onestop.services.sync.base import FailureKind, SyncError, SyncReport
from onestop.store.models import DeskState
from onestop.wire import snapshot
from tests.services.sync.helpers import (
    FAST,
    PASSPHRASE,
    Clock,
    ServerProcess,
    commune,
    enroll,
    make_desk,
    passphrase,
    random_work,
    server_digest,
)
from tests.services.sync.proxy import FaultProxy

N = 8  # this module's first commune; each use of the fixture takes its own (8, 18, 28...)
_COMMUNES = itertools.count(N, 10)


def _sync(desk: Desk, url: str | None = None) -> SyncReport:
    return sync.sync_once(desk, url, passphrase_provider=passphrase, options=FAST)


def _replace(new: Desk, lost: Desk, url: str, **kw: Any) -> sync_replace.ReplaceReport:
    """``onestop enroll --replace LOST --server URL`` on ``new`` (``code=`` the first time)."""
    return sync_replace.replace_desk(
        new, lost.identity.desk_id, passphrase_provider=passphrase, server_url=url, **kw
    )


def _replace_code(server: ServerProcess, old: str) -> dict[str, object]:
    result = CliRunner().invoke(
        cli_main, ["server", "replace-desk", old, "--database-url", server.db_url, "--json"]
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.fixture
def commune_at_work(sqlite_server: ServerProcess, tmp_path: Path) -> tuple[Desk, Desk, Clock]:
    """Desks 1 (to be lost) and 2 of commune N, a few weeks of work, all synced."""
    rng = random.Random(181)
    clock = Clock()
    n = next(_COMMUNES)
    lost = make_desk(tmp_path / "lost.sqlite", n=n, desk_no=1, clock=clock)
    sibling = make_desk(tmp_path / "sibling.sqlite", n=n, desk_no=2, clock=clock)
    enroll(lost, sqlite_server.db_url, sqlite_server.url)
    enroll(sibling, sqlite_server.db_url, sqlite_server.url)
    random_work(lost, clock, rng, 120)
    random_work(sibling, clock, rng, 40)
    for d in (lost, sibling, lost):
        assert _sync(d).ok
    return lost, sibling, clock


class _Tamper(httpx.BaseTransport):
    """Flips one byte of the compressed blob of the first replacement page it relays."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.done = False

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        resp.read()
        resp.close()
        if self.done or "replacement" not in request.url.path:
            return resp
        import cbor2

        head, blob = cbor2.loads(resp.content)
        changed = bytearray(blob)
        changed[len(changed) // 2] ^= 0x01
        self.done = True
        return httpx.Response(
            resp.status_code, headers=resp.headers, content=cbor2.dumps([head, bytes(changed)])
        )


def test_replacement_brings_every_dossier_and_continues_them(
    sqlite_server: ServerProcess, commune_at_work: tuple[Desk, Desk, Clock], tmp_path: Path
):
    lost, sibling, clock = commune_at_work
    issued = _replace_code(sqlite_server, lost.identity.desk_id)
    assert (
        issued["revoked_now"] is True and issued["new_desk"] == f"{lost.identity.commune_code}-03"
    )

    new = make_desk(
        tmp_path / "new.sqlite", n=_n(lost), desk_no=9, clock=clock
    )  # fresh `onestop init`
    proxy = FaultProxy(sqlite_server.port).start()
    try:
        # The link is cut twice during the download: the run gives up, having kept every
        # page it verified; the same command again continues from there.
        proxy.add("truncate", path="/sync/v1/replacement", nth=2)
        proxy.add("drop_response", path="/sync/v1/replacement", nth=2)
        with pytest.raises(SyncError, match="Chạy lại đúng lệnh này") as cut:
            _replace(new, lost, proxy.url, code=str(issued["code"]), max_attempts=1, page_events=40)
        assert new.identity.desk_id == issued["new_desk"]  # a new number and a new key
        with new.store.read() as db:
            partial = db.get(DeskState, lost.identity.desk_id)
        assert partial is not None and 0 < partial.last_seq, str(cut.value)
        report = _replace(new, lost, proxy.url, max_attempts=4, page_events=40)
    finally:
        proxy.close()
    assert not report.enrolled_now and report.pages >= 1
    assert report.dossiers == sync_apply.desk_digest(lost)[0]
    assert report.open_dossiers > 0
    # Every dossier equals the province's (and the lost desk's) state, history included.
    assert sync_apply.desk_digest(new) == server_digest(
        sqlite_server.db_url, lost.identity.commune_code
    )
    assert sync_apply.desk_digest(new) == sync_apply.desk_digest(lost)
    assert new.rebuild(fix=False).ok
    some = next(c for c in _open_codes(lost) if new.get(c).allowed_actions())
    assert [e.body() for e in new.history(some)] == [e.body() for e in lost.history(some)]

    # The new desk continues the lost desk's open dossiers; the sibling sees it.
    moved = 0
    for code in _open_codes(lost):
        state = new.get(code)
        if EventKind.FORWARD in state.allowed_actions():
            clock.advance(5)
            new.act(code, EventKind.FORWARD, {"to": "Công chức Tư pháp - Hộ tịch"})
            moved += 1
    assert moved > 0
    assert _sync(new, sqlite_server.url).ok and _sync(sibling).ok
    assert sync_apply.desk_digest(sibling) == sync_apply.desk_digest(new)
    assert sync_apply.desk_digest(new) == server_digest(
        sqlite_server.db_url, lost.identity.commune_code
    )
    # The lost laptop, if it turns up (or a thief uses it), is refused by the province.
    random_work(lost, clock, random.Random(9), 3)
    rep = _sync(lost)
    assert not rep.ok and rep.error_kind == FailureKind.REVOKED.value


def _n(desk: Desk) -> int:
    return int(desk.identity.commune_code) - 20000


def _open_codes(desk: Desk) -> list[str]:
    done = {"returned", "refused", "withdrawn"}
    with desk.store.read() as db:
        from sqlmodel import select

        from onestop.store.models import DossierRow

        return [r.code for r in db.exec(select(DossierRow)).all() if r.status not in done]


def test_a_tampered_page_is_refused_and_nothing_of_it_is_kept(
    sqlite_server: ServerProcess, commune_at_work: tuple[Desk, Desk, Clock], tmp_path: Path
):
    lost, _sibling, clock = commune_at_work
    issued = _replace_code(sqlite_server, lost.identity.desk_id)
    new = make_desk(tmp_path / "new.sqlite", n=_n(lost), desk_no=9, clock=clock)
    tamper = _Tamper()
    with pytest.raises(SyncError) as err:
        _replace(
            new, lost, sqlite_server.url, code=str(issued["code"]), transport=tamper, max_attempts=1
        )
    assert tamper.done and "không hợp lệ" in str(err.value)
    with new.store.read() as db:
        assert db.get(DeskState, lost.identity.desk_id) is None
    # Untampered, the same desk completes.
    _replace(new, lost, sqlite_server.url)
    assert sync_apply.desk_digest(new) == server_digest(
        sqlite_server.db_url, lost.identity.commune_code
    )


def test_usb_snapshot_for_the_replacement(
    sqlite_server: ServerProcess,
    commune_at_work: tuple[Desk, Desk, Clock],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    lost, _sibling, clock = commune_at_work
    issued = _replace_code(sqlite_server, lost.identity.desk_id)
    new = make_desk(tmp_path / "new.sqlite", n=_n(lost), desk_no=9, clock=clock)
    # Enrollment is one small request; the history comes on the USB stick.
    from onestop.services.sync import enroll as sync_enroll

    sync_enroll.enroll(new, sqlite_server.url, str(issued["code"]), passphrase_provider=passphrase)
    out = tmp_path / "usb" / "thay-quay.onestop"
    out.parent.mkdir()
    runner = CliRunner()
    result = runner.invoke(
        cli_main,
        [
            "server",
            "export-snapshot",
            new.identity.desk_id,
            "--out",
            str(out),
            "--database-url",
            sqlite_server.db_url,
        ],
    )
    assert result.exit_code == 0, result.output
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Personal data is sealed: no applicant name appears in the file.
    name = lost.get(_open_codes(lost)[0]).applicant_name
    assert name.encode() not in out.read_bytes()

    path = new.store.path
    new.store.close()
    monkeypatch.setenv("ONESTOP_PASSPHRASE", PASSPHRASE)
    result = runner.invoke(
        cli_main,
        ["enroll", "--db", str(path), "--replace", lost.identity.desk_id, "--from", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "hồ sơ đang giải quyết" in result.output
    again = Desk.open(path, clock=clock)
    assert sync_apply.desk_digest(again) == server_digest(
        sqlite_server.db_url, lost.identity.commune_code
    )
    # Importing again changes nothing (already held, byte for byte): resumable.
    result = runner.invoke(
        cli_main,
        ["enroll", "--db", str(path), "--replace", lost.identity.desk_id, "--from", str(out)],
    )
    assert result.exit_code == 0, result.output

    # A snapshot made for another desk is refused, and a damaged one says so.
    other = tmp_path / "other.sqlite"
    stranger = make_desk(other, n=_n(lost), desk_no=7, clock=clock)
    stranger.store.close()
    result = runner.invoke(
        cli_main,
        ["enroll", "--db", str(other), "--replace", lost.identity.desk_id, "--from", str(out)],
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    broken = tmp_path / "broken.onestop"
    broken.write_bytes(b"not a snapshot")
    result = runner.invoke(
        cli_main,
        ["enroll", "--db", str(path), "--replace", lost.identity.desk_id, "--from", str(broken)],
    )
    assert result.exit_code == 1 and "không phải tệp dữ liệu thay quầy" in result.output


def test_bad_replacement_input_is_refused_before_anything(
    sqlite_server: ServerProcess, tmp_path: Path
):
    result = CliRunner().invoke(
        cli_main, ["server", "replace-desk", "99999-01", "--database-url", sqlite_server.db_url]
    )
    assert result.exit_code == 1 and "không có quầy 99999-01" in result.output
    desk = make_desk(tmp_path / "d.sqlite", n=N + 1, desk_no=1)
    for old, msg in (("16279-1", "dạng 16279-01"), ("16279-01", "không thuộc xã")):
        with pytest.raises(SyncError, match=msg):
            sync_replace.replace_desk(desk, old, passphrase_provider=passphrase)
    with pytest.raises(SyncError, match="--server"):
        sync_replace.replace_desk(desk, f"{commune(N + 1)}-02", passphrase_provider=passphrase)


def test_columnar_pages_round_trip_exactly(commune_at_work: tuple[Desk, Desk, Clock]):
    lost, _s, _c = commune_at_work
    with lost.store.read() as db:
        from sqlmodel import col, select

        from onestop.store.models import EventRow

        bodies = [bytes(r.body) for r in db.exec(select(EventRow).order_by(col(EventRow.seq)))]
    cols = snapshot.pack(bodies)
    assert snapshot.unpack(cols, len(bodies)) == bodies
    cols[1][3] += 1  # one HLC step changed: a different body, which the chain check refuses
    assert snapshot.unpack(cols, len(bodies)) != bodies
    with pytest.raises(Exception, match="không khớp"):
        snapshot.unpack(cols, len(bodies) + 1)


def test_work_on_the_new_desk_before_the_download_ends(
    sqlite_server: ServerProcess, commune_at_work: tuple[Desk, Desk, Clock], tmp_path: Path
):
    """A clerk who starts receiving before re-running the cut download: the rest comes in
    through the full path (conflict checks), and everything converges."""
    lost, sibling, clock = commune_at_work
    issued = _replace_code(sqlite_server, lost.identity.desk_id)
    new = make_desk(tmp_path / "new.sqlite", n=_n(lost), desk_no=9, clock=clock)
    proxy = FaultProxy(sqlite_server.port).start()
    try:
        proxy.add("drop_response", path="/sync/v1/replacement", nth=2)
        with pytest.raises(SyncError):
            _replace(new, lost, proxy.url, code=str(issued["code"]), max_attempts=1, page_events=40)
    finally:
        proxy.close()
    random_work(new, clock, random.Random(3), 4)  # new dossiers of its own
    assert new.outbox_size() > 0
    report = _replace(new, lost, sqlite_server.url)
    assert report.events > 0
    assert _sync(new, sqlite_server.url).ok and _sync(sibling).ok
    assert sync_apply.desk_digest(new) == sync_apply.desk_digest(sibling)
    assert sync_apply.desk_digest(new) == server_digest(
        sqlite_server.db_url, lost.identity.commune_code
    )
    assert new.rebuild(fix=False).ok
