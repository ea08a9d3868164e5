"""The desk's list and search pages (plain SQL on the DB-API connection, issue 19 §2) equal the
full path: every dossier read as an ORM row, filtered in Python by the filter's meaning.

Played on the report history (every status: open, paused for a supplement, resolved, returned,
withdrawn, refused at intake and after receipt, extended, evaluated, online and by post) plus
dossiers with a proxy and accented names. For each filter of the table and a few clocks, walking
the pages with a small limit must give exactly the reference's states, newest first, each once,
and ``count`` the reference's size.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from onestop.domain.lifecycle import DossierState, Status
from onestop.domain.text import fts_query
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.store.models import DossierRow
from onestop.store.queries import DossierFilter
from onestop.store.repo_dossiers import row_to_state
from tests.conftest import Clock, muong_lat_desk
from tests.services.report_history import CT, HT, play


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "desk.sqlite"
    clock = Clock()
    desk = muong_lat_desk(path, clock)
    play(desk, clock)
    clock.now = datetime(2026, 4, 6, 9)
    for i, name in enumerate(["Nguyễn Văn Ấn", "Hà Thị Gia", "Đặng Quốc Việt", "Lò Văn Ơn"]):
        clock.now += timedelta(minutes=7)
        desk.receive(
            IntakeForm(
                procedure_code="2.001035" if i % 2 else "1.004873",
                applicant=Applicant(
                    name=name, id_number=f"00109901235{i}", phone=f"09123456{i}{i}"
                ),
                proxy=Applicant(name="Vi Thị Ngọc", id_number="038199012399") if i == 2 else None,
                fee_vnd=0 if i % 2 == 0 else None,
            )
        )
    desk.close()
    return path


def reference(desk: Desk, flt: DossierFilter, now: datetime) -> list[DossierState]:
    """Every dossier through the ORM (the full row, ``row_to_state``), the filter applied in
    Python as the list's help describes it, newest (highest id) first."""
    soon = desk.soon_until(now)
    tomorrow = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with desk.store.read() as db:
        rows = db.exec(select(DossierRow)).all()
        matches: set[int] | None = None
        if flt.search:
            q = fts_query(flt.search)
            sql = text("SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :q")
            matches = {int(r) for (r,) in db.execute(sql, {"q": q})} if q else set()
        pairs = [(int(r.id or 0), row_to_state(r)) for r in rows]
    due: Callable[[DossierState], bool] = {
        None: lambda s: True,
        "overdue": lambda s: s.clock_running and s.due_at is not None and s.due_at < now,
        "today": lambda s: s.clock_running and s.due_at is not None and now <= s.due_at < tomorrow,
        "soon": lambda s: s.clock_running and s.due_at is not None and tomorrow <= s.due_at <= soon,
        "none": lambda s: s.due_at is None,
    }[flt.due]
    kept = [
        (i, s)
        for i, s in pairs
        if (matches is None or i in matches)
        and (not flt.statuses or s.status in flt.statuses)
        and (not flt.field or s.field == flt.field)
        and (flt.received_since is None or s.received_at >= flt.received_since)
        and due(s)
    ]
    return [s for _, s in sorted(kept, key=lambda p: -p[0])]


def walk(desk: Desk, flt: DossierFilter, limit: int) -> list[DossierState]:
    seen: list[DossierState] = []
    cursor = None
    while True:
        page = desk.page(flt, after_id=cursor, limit=limit)
        assert len(page.rows) <= limit
        seen.extend(page.rows)
        if page.next_cursor is None:
            return seen
        assert len(page.rows) == limit, "a cursor only after a full page"
        cursor = page.next_cursor


FILTERS = [
    DossierFilter(),
    DossierFilter(statuses=(Status.RETURNED,)),
    DossierFilter(
        statuses=(Status.RECEIVED, Status.SUPPLEMENT_REQUESTED, Status.FORWARDED, Status.PROCESSING)
    ),
    DossierFilter(statuses=(Status.REFUSED, Status.WITHDRAWN)),
    DossierFilter(field=CT),
    DossierFilter(field=HT, statuses=(Status.RETURNED,)),
    DossierFilter(field="Không có lĩnh vực này"),
    DossierFilter(received_since=datetime(2026, 3, 13)),
    DossierFilter(due="overdue"),
    DossierFilter(due="today"),
    DossierFilter(due="soon"),
    DossierFilter(due="none"),
    DossierFilter(due="overdue", field=HT),
    DossierFilter(search="nguyen"),
    DossierFilter(search="Hà Thị"),
    DossierFilter(search="ha thi"),
    DossierFilter(search="lo"),
    DossierFilter(search="vi ngoc"),  # the proxy's name
    DossierFilter(search="H56"),
    DossierFilter(search="0912345678"),
    DossierFilter(search="khong ai ten nay"),
    DossierFilter(search="-"),  # no word: no FTS query, no rows
    DossierFilter(search="thi", statuses=(Status.RETURNED,)),
    DossierFilter(search="ban", field=CT, due="none"),
    DossierFilter(search="van", received_since=datetime(2026, 4, 1)),
]
CLOCKS = [datetime(2026, 3, 4, 8, 30), datetime(2026, 3, 25, 10), datetime(2026, 4, 6, 12)]


@pytest.mark.parametrize("now", CLOCKS, ids=lambda d: f"{d:%d%m}")
def test_list_pages_equal_the_full_path(played: Path, now: datetime) -> None:
    desk = Desk.open(played, clock=Clock(now), actor="Lò Thị Mai")
    try:
        some = 0
        for flt in FILTERS:
            expected = reference(desk, flt, now)
            some += bool(expected)
            for limit in (1, 3, 200):
                assert walk(desk, flt, limit) == expected, (flt, limit)
            assert desk.count(flt) == len(expected), flt
        assert some >= len(FILTERS) // 2, "the table must mostly select something"
    finally:
        desk.close()


def test_the_history_is_varied(played: Path) -> None:
    """The table above means something only if the desk holds every kind of row."""
    desk = Desk.open(played, clock=Clock(datetime(2026, 4, 6, 12)), actor="Lò Thị Mai")
    try:
        states = reference(desk, DossierFilter(), datetime(2026, 4, 6, 12))
    finally:
        desk.close()
    statuses = {s.status for s in states}
    assert {Status.RETURNED, Status.REFUSED, Status.WITHDRAWN, Status.SUPPLEMENT_REQUESTED} <= (
        statuses
    )
    assert any(s.proxy for s in states) and any(s.evaluation for s in states)
    assert any(s.extension_count for s in states) and any(s.due_at is None for s in states)
    assert len({s.documents for s in states}) >= 2
