"""The "Số hóa" indicators on a real desk: scanned, partial, re-used and missing components,
digitised results; the numbers in JSON and CSV."""

from __future__ import annotations

import json
from datetime import date, timedelta

from onestop.domain.events import EventKind
from onestop.domain.reports import Period
from onestop.domain.scans import (
    digitised_results_share,
    digitised_share,
    reused_components_share,
)
from onestop.services import attachments as att
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.services.reports import desk_report, export_bytes, report_scans
from tests.conftest import Clock
from tests.services.attach_helpers import make_pdf

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
KEYS = ("digitised_share", "reused_components_share", "digitised_results_share")


def receive(desk: Desk, name: str) -> str:
    form = IntakeForm(
        procedure_code="2.001035", applicant=Applicant(name=name, id_number="001099012345")
    )
    return desk.receive(form).code


def scan_all(desk: Desk, code: str, tag: str, skip: int = 0) -> None:
    for n in range(1 + skip, len(desk.get(code).documents) + 1):
        att.attach(desk, code, n, make_pdf(1, f"{tag} {n}"), pages=1, paper_pages=1)


def shares(desk: Desk) -> dict[str, dict[str, object]]:
    r = desk_report(desk, "indicators", NOVEMBER)
    return {row["key"]: row for row in r.sections[0].rows}


def test_digitised_indicators(desk: Desk, clock: Clock):
    full = receive(desk, "Nguyễn Văn An")
    n = len(desk.get(full).documents)
    assert n >= 2
    card = make_pdf(2, "CAN CUOC 001099012345")
    # Full: every component scanned, resolved, result attached.
    att.attach(desk, full, 1, card, pages=2, paper_pages=2)
    scan_all(desk, full, "FULL", skip=1)
    desk.act(full, EventKind.RESOLVE, {"decision": "approved"})
    att.attach_result(desk, full, make_pdf(1, "QUYET DINH FULL"), 1)
    # Partial: component 1 only, resolved, no result file.
    partial = receive(desk, "Trần Thị Bình")
    att.attach(desk, partial, 1, make_pdf(1, "PARTIAL 1"), pages=1, paper_pages=1)
    desk.act(partial, EventKind.RESOLVE, {"decision": "approved"})
    # Re-used: the same ID card file as the first dossier, the rest scanned.
    reuse = receive(desk, "Nguyễn Văn An")
    assert att.attach(desk, reuse, 1, card, pages=2, paper_pages=2).reused
    scan_all(desk, reuse, "REUSE", skip=1)
    # None: nothing attached.
    receive(desk, "Lê Văn Cường")
    # Received after the period: not counted, even with its files.
    clock.now += timedelta(days=15)
    later = receive(desk, "Phạm Thị Dung")
    scan_all(desk, later, "LATER")

    with desk.store.read() as db:
        scans = report_scans(db, NOVEMBER)
    assert len(scans) == 4
    items = shares(desk)
    # Dossiers with every component scanned or re-used: full and reuse, of 4 received.
    assert (items["digitised_share"]["numerator"], items["digitised_share"]["denominator"]) == (
        2,
        4,
    )
    # Re-used components: reuse's component 1, of 4 dossiers x n components.
    assert (
        items["reused_components_share"]["numerator"],
        items["reused_components_share"]["denominator"],
    ) == (1, 4 * n)
    # Results: full and partial were resolved; only full's result is attached.
    assert (
        items["digitised_results_share"]["numerator"],
        items["digitised_results_share"]["denominator"],
    ) == (1, 2)
    assert items["digitised_share"]["percent"] == 50.0
    # The same numbers as the pure rules of domain.scans.
    assert digitised_share(scans) == 2 / 4
    assert reused_components_share(scans) == 1 / (4 * n)
    assert digitised_results_share(scans) == 1 / 2

    r = desk_report(desk, "indicators", NOVEMBER)
    assert set(KEYS) <= set(r.extra["formulas"])
    data = json.loads(export_bytes(r, "json", desk))
    rows = {row["key"]: row for row in data["sections"][0]["rows"]}
    assert [(rows[k]["numerator"], rows[k]["denominator"]) for k in KEYS] == [
        (2, 4),
        (1, 4 * n),
        (1, 2),
    ]
    csv_text = export_bytes(r, "csv", desk).decode("utf-8-sig")
    for label, num, den in (
        ("Tỷ lệ hồ sơ được số hóa", 2, 4),
        ("Tỷ lệ thành phần hồ sơ được tái sử dụng", 1, 4 * n),
        ("Tỷ lệ kết quả được số hóa", 1, 2),
    ):
        line = next(x for x in csv_text.splitlines() if label in x)
        assert f",{num},{den}," in line


def test_detached_files_and_empty_period(desk: Desk, clock: Clock):
    code = receive(desk, "Nguyễn Văn An")
    a = att.attach(desk, code, 1, make_pdf(1, "WRONG"), pages=1, paper_pages=1)
    att.detach(desk, code, a.id)
    items = shares(desk)
    assert (items["digitised_share"]["numerator"], items["digitised_share"]["denominator"]) == (
        0,
        1,
    )
    assert items["reused_components_share"]["numerator"] == 0
    assert items["digitised_results_share"]["denominator"] == 0
    assert items["digitised_results_share"]["note"]
    empty = desk_report(desk, "indicators", Period(date(2026, 10, 1), date(2026, 10, 31)))
    rows = {row["key"]: row for row in empty.sections[0].rows}
    assert all(rows[k]["denominator"] == 0 and rows[k]["percent"] is None for k in KEYS)


def test_shown_only_components_need_no_scan(desk: Desk, clock: Clock):
    """Circular 03/2025 Art. 5(2): a paper only shown at the counter is out of the count, so
    a dossier whose other papers are scanned is digitised (here no result is due yet)."""
    code = receive(desk, "Trần Thị Bình")
    att.mark_shown_only(desk, code, 1, paper_pages=1)
    scan_all(desk, code, "BÌNH", skip=1)
    (summary,) = report_scans_for(desk)
    n = len(desk.get(code).documents)
    assert summary.components == n - 1
    assert summary.components_scanned == n - 1


def report_scans_for(desk: Desk):
    with desk.store.read() as db:
        return report_scans(db, NOVEMBER)
