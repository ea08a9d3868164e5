"""The tracking book read from the projection equals the book folded from every log.

``report_book`` reads each dossier's projection row (streamed, built from the selected columns)
and replays only dossiers once extended (issue 19 §2); the reference here replays every log, as
the book did before. Played on the report history (returns across the month's end, refusals,
supplements, extensions, online intake) and the book register's extension.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from onestop.domain.reports import BookRow, Period, book_entry, book_rows
from onestop.services import reports as svc
from onestop.services.desk import Applicant, Desk, IntakeForm
from tests.conftest import Clock, muong_lat_desk
from tests.services.report_history import CT, HT, play

COMMUNE = "Xã Mường Lát"


def replayed_book(db: Session, p: Period, field: str | None) -> list[BookRow]:
    codes = [str(c) for (c,) in db.execute(text("SELECT code FROM dossier ORDER BY code"))]
    entries = (book_entry(events) for events in svc._logs(db, codes, None))
    return book_rows(
        (e for e in entries if e is not None),
        p,
        field=field,
        agency=svc._agencies(db, COMMUNE),
    )


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "desk.sqlite"
    clock = Clock()
    desk = muong_lat_desk(path, clock)
    play(desk, clock)
    clock.now = datetime(2026, 4, 3, 9)
    late = desk.receive(
        IntakeForm(
            procedure_code="2.001035",
            applicant=Applicant(name="Hà Thị Gia", id_number="001099012353"),
        )
    )
    clock.now = datetime(2026, 4, 3, 10)
    assert late.due_at is not None
    desk.act(late.code, "extend", {"reason": "Cần xác minh", "new_due": datetime(2026, 4, 28, 10)})
    desk.close()
    return path


@pytest.mark.parametrize(
    "period",
    [
        Period(date(2026, 3, 1), date(2026, 3, 31)),
        Period(date(2026, 4, 1), date(2026, 4, 30)),
        Period(date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
@pytest.mark.parametrize("field", [None, CT, HT])
def test_book_from_the_projection_equals_the_replayed_book(
    played: Path, period: Period, field: str | None
) -> None:
    desk = Desk.open(played, clock=Clock(datetime(2026, 4, 3, 10)), actor="Lò Thị Mai")
    try:
        with desk.store.read() as db:
            fast = svc.report_book(db, period, field=field, commune=COMMUNE)
            reference = replayed_book(db, period, field)
    finally:
        desk.close()
    assert fast == reference
    if field is None and period.start.month == 4:
        assert any(r.returned_by for r in fast), "the history returns results in April"
        assert any(r.first_due_at for r in fast), "and extends one"
