"""Issue 19 §1: the province's figures, computed in the database, equal every commune's own
Biểu 06 (and evaluation summary), for a month, a quarter and a year, past or running.

Real desks of three communes (one with two desks acting on each other's dossiers) work through
four months of a clock, syncing to a real ``onestop serve`` every few dozen steps (so the
server folds their milestones batch by batch, late arrivals included); then each desk's report
(``services.reports``, what ``onestop report bieu06`` prints) is compared with the server's
figures (``server/web/province.py``, what the dashboard and its JSON API show), on SQLite and
on PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from onestop.domain.lifecycle import Channel
from onestop.domain.reports import Period, PeriodKind, period
from onestop.server.db import ServerDB, downgrade, migrate
from onestop.server.web import province
from onestop.services import reports
from onestop.services.demo import PROCEDURES, _person, demo_fee
from onestop.services.desk import Desk, IntakeForm
from onestop.services.sync import client as sync
from tests.server.test_server_figure import assert_figures_match, stored
from tests.services.sync.helpers import (
    FAST,
    Clock,
    PgCluster,
    ServerProcess,
    act_randomly,
    commune,
    enroll,
    make_desk,
    passphrase,
    running_server,
)

BEGIN = datetime(2026, 3, 2, 8, 0)
COMMUNES = (61, 62, 63)


def _work(desk: Desk, clock: Clock, rng: random.Random, codes: list[str], steps: int) -> None:
    for _ in range(steps):
        # Hours to days between actions: dossiers span month and quarter ends, some go late.
        clock.advance(rng.choice([10, 60, 240, 720, 1440]))
        if clock.now.hour >= 17 or clock.now.hour < 7:
            clock.now = clock.now.replace(hour=8) + timedelta(days=1)
        if not codes or rng.random() < 0.35:
            codes.append(_receive(desk, clock, rng))
        else:
            act_randomly(desk, rng.choice(codes), rng)


def _receive(desk: Desk, clock: Clock, rng: random.Random) -> str:
    proc = rng.choices([c for c, _ in PROCEDURES], [w for _, w in PROCEDURES])[0]
    form = IntakeForm(procedure_code=proc, applicant=_person(rng, clock.now))
    form.fee_vnd = demo_fee(desk.procedure(proc))
    form.fee_paid_now = rng.random() < 0.7
    form.channel = rng.choice([Channel.IN_PERSON, Channel.ONLINE, Channel.POST])
    return desk.receive(form).code


def _sync(desk: Desk) -> None:
    rep = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST, files=False)
    assert rep.ok, rep.error


def _build(server: ServerProcess, tmp_path: Path) -> list[tuple[str, Desk]]:
    """Desks of three communes with four months of work, synced as they go."""
    rng = random.Random(19)
    desks: list[tuple[Desk, Clock, list[str]]] = []
    for n in COMMUNES:
        for desk_no in (1, 2) if n == COMMUNES[0] else (1,):
            clock = Clock(BEGIN)
            desk = make_desk(tmp_path / f"{n}-{desk_no}.sqlite", n=n, desk_no=desk_no, clock=clock)
            enroll(desk, server.db_url, server.url)
            desks.append((desk, clock, []))
    for _round in range(8):
        for desk, clock, codes in desks:
            _work(desk, clock, rng, codes, 30)
            _sync(desk)
        # Desks of one commune act on each other's dossiers once they have them.
        first, second = desks[0], desks[1]
        _sync(first[0])
        for code in rng.sample(second[2], min(4, len(second[2]))):
            act_randomly(first[0], code, rng)
    for desk, _clock, _codes in desks:
        _sync(desk)
    for desk, _clock, _codes in desks:
        _sync(desk)
    return [(desk.identity.commune_code, desk) for desk, _c, _codes in desks]


def _periods() -> Iterator[tuple[Period, date]]:
    after = date(2026, 8, 1)  # every period below has ended: the overdue cut is its end
    for kind, n in (
        (PeriodKind.MONTH, 3),
        (PeriodKind.MONTH, 4),
        (PeriodKind.MONTH, 5),
        (PeriodKind.QUARTER, 2),
        (PeriodKind.YEAR, 1),
    ):
        yield Period(*period(kind, 2026, n)), after
    # Running periods: open dossiers are judged at the moment of the report.
    yield Period(*period(PeriodKind.MONTH, 2026, 5)), date(2026, 5, 14)
    yield Period(*period(PeriodKind.YEAR, 2026, 1)), date(2026, 4, 20)


def _compare(db_url: str, desks: list[tuple[str, Desk]]) -> int:
    db = ServerDB(db_url)
    compared = 0
    try:
        for p, today in _periods():
            for field in (None, "Chứng thực"):
                with db.read() as conn:
                    overview = province.province_overview(
                        conn, p, field_name=field, today=today, now=0, stale_days=7
                    )
                    by_commune = {s.commune: s for s in overview}
                    drill = {
                        c: province.commune_bieu06(conn, c, p, field_name=field, today=today)
                        for c, _d in desks
                    }
                for c, desk in desks:
                    with desk.store.read() as ddb:
                        mine = reports.bieu06_fast(ddb, p, field=field, today=today)
                        evals = reports.report_evaluations(ddb, p, field=field)
                    theirs = by_commune[c]
                    label = (c, p, today, field)
                    assert theirs.bieu06.total.as_dict() == mine.total.as_dict(), label
                    assert [(r.field, r.counts.as_dict()) for r in theirs.bieu06.rows] == [
                        (r.field, r.counts.as_dict()) for r in mine.rows
                    ], label
                    assert drill[c] == theirs.bieu06, label
                    assert theirs.evaluations.total == evals.total, label
                    assert theirs.evaluations.rows == evals.rows, label
                    compared += 1
    finally:
        db.close()
    return compared


def _check_figure_rows_and_backfill(db_url: str, desks: list[tuple[str, Desk]]) -> None:
    """server_figure, kept batch by batch through late arrivals and replays, equals every
    dossier's refolded log; migration 0007's backfill writes the same rows, and the figures
    read from them still equal the desks' reports."""
    db = ServerDB(db_url)
    try:
        assert assert_figures_match(db) > 0
        written = stored(db)
        downgrade(db, "0006")
        migrate(db)
        assert stored(db) == written
    finally:
        db.close()
    province._CACHE.clear()  # the desks' positions did not move: the cache would answer
    assert _compare(db_url, desks) == 7 * 2 * len(desks)


def _check_history(desks: list[tuple[str, Desk]]) -> None:
    """The history is worth comparing: every column of the form is exercised somewhere."""
    seen: dict[str, int] = {}
    for _c, desk in desks:
        for p, today in _periods():
            with desk.store.read() as ddb:
                for k, v in reports.bieu06_fast(ddb, p, today=today).total.as_dict().items():
                    seen[k] = seen.get(k, 0) + v
    assert all(seen[k] > 0 for k in ("online", "carried", "early", "on_time", "late")), seen
    assert all(seen[k] > 0 for k in ("within", "overdue", "stopped"))


def test_province_figures_equal_each_communes_own_report_sqlite(
    sqlite_server: ServerProcess, tmp_path: Path
):
    desks = _build(sqlite_server, tmp_path)
    _check_history(desks)
    assert _compare(sqlite_server.db_url, desks) == 7 * 2 * len(desks)
    _check_figure_rows_and_backfill(sqlite_server.db_url, desks)
    # Each desk told the server its outbox in its last batch: nothing pending.
    db = ServerDB(sqlite_server.db_url)
    try:
        with db.read() as conn:
            stats = province.province_overview(
                conn,
                Period(*period(PeriodKind.YEAR, 2026, 1)),
                field_name=None,
                today=date(2026, 8, 1),
                now=0,
                stale_days=7,
            )
    finally:
        db.close()
    assert {s.commune: s.events_pending for s in stats} == {commune(n): 0 for n in COMMUNES}


def test_province_figures_equal_each_communes_own_report_postgres(pg: PgCluster, tmp_path: Path):
    url = pg.create_database(f"figures_{random.randrange(10**9)}")
    with running_server(url) as server:
        desks = _build(server, tmp_path)
        assert _compare(url, desks) == 7 * 2 * len(desks)
        _check_figure_rows_and_backfill(url, desks)
