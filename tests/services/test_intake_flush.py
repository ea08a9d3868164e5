"""Intake writes without the ORM's unit of work, and the projection reads back exactly
(issue 19 §2).

Each flush is a unit-of-work pass (object bookkeeping, ordering, one statement per object):
intake used to pay three, then one. The event, the chain head, the counters, the dossier row
and its search entry are now statements on the transaction's DB-API connection
(store/rawsql.py), and lists build states straight from selected columns (``state_from_values``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.store.queries import DossierFilter
from onestop.store.repo_dossiers import get_dossier, state_to_values


@contextmanager
def counting_flushes() -> Iterator[list[int]]:
    flushes: list[int] = []

    def on_flush(session: Session, context: object, instances: object) -> None:
        flushes.append(len(session.new) + len(session.dirty))

    event.listen(Session, "before_flush", on_flush)
    try:
        yield flushes
    finally:
        event.remove(Session, "before_flush", on_flush)


def _form(name: str = "Nguyễn Thị Phương Thảo") -> IntakeForm:
    return IntakeForm(
        procedure_code="2.001035", applicant=Applicant(name=name, id_number="038199012345")
    )


def test_intake_flushes_nothing(desk: Desk) -> None:
    desk.receive(_form())  # warm: the first intake of a day also creates its counter
    with counting_flushes() as flushes:
        desk.receive(_form("Lò Văn Bình"))
    assert [n for n in flushes if n] == [], flushes


def test_intake_with_payment_flushes_nothing(desk: Desk) -> None:
    desk.receive(_form("Lò Văn Bình"))
    form = _form()
    form.fee_vnd, form.fee_paid_now = 50000, True
    with counting_flushes() as flushes:
        st = desk.receive(form)
    assert [n for n in flushes if n] == [], flushes
    assert st.fee_paid == 50000


def test_first_event_of_a_desk_with_payment_and_a_bulk_load(desk: Desk) -> None:
    """The desk's chain head is created by its first event and the day's code counter by the
    day's first intake: later appends in the same transaction must find both."""
    form = _form()
    form.fee_vnd, form.fee_paid_now = 50000, True
    with desk.store.write() as db:
        codes = [desk.receive_in(db, form).code for _ in range(3)]
    assert len(set(codes)) == 3
    assert [e.seq for e in desk.history(codes[-1])] == [5, 6]


def test_rows_read_back_equal_the_saved_state(desk: Desk) -> None:
    """Every field (dates, JSON, statuses, None) survives the Core write and the tuple read."""
    a = desk.receive(_form())
    b = desk.receive(_form("Lò Văn Bình"))
    b = desk.act(b.code, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
    page = desk.page(DossierFilter(), limit=1)
    assert [s.code for s in page.rows] == [b.code] and page.next_cursor is not None
    rest = desk.page(DossierFilter(), after_id=page.next_cursor, limit=5)
    assert [s.code for s in rest.rows] == [a.code] and rest.next_cursor is None
    found = desk.page(DossierFilter(search="phuong thao"))
    assert [s.code for s in found.rows] == [a.code]
    for state in (a, b):
        with desk.store.read() as db:
            back = get_dossier(db=db, code=state.code)
        assert back == state and state_to_values(back) == state_to_values(state)
    assert page.rows[0] == b and found.rows[0] == a


def test_the_benchmarks_bare_search_is_the_desks_own_query() -> None:
    """tests/bench/bench_desk.py compares the search page with bare SQLite running the desk's
    FTS5 keyset query (not "load every match, then sort", which flattered the desk)."""
    from onestop.store.repo_dossiers import FTS_KEYSET_SQL
    from tests.bench.bench_desk import BARE_SEARCH
    from tests.bench.bench_desk import FTS_KEYSET_SQL as BENCH_SQL

    assert BENCH_SQL == FTS_KEYSET_SQL and FTS_KEYSET_SQL in BARE_SEARCH
