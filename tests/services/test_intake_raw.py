"""Intake on the DB-API connection (issue 19 §2): what it remembers between intakes is never
stale, two processes on one desk file never share a code or a slip number, a failure writes
nothing, and the ORM sessions around the raw statements stay consistent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from onestop.domain.events import EventKind
from onestop.domain.numbering import DocKind, numbers_of
from onestop.services import desk as desk_module
from onestop.services.base import IntakeError
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from onestop.services.setting_keys import S_DESK_TAG, S_REVOCATIONS
from onestop.store.models import CodeCounter, DeskState, DossierRow, EventRow, Procedure, Setting
from onestop.store.rawsql import connection_of
from onestop.store.repo_events import append_event
from tests.conftest import Clock, muong_lat_desk

REPO = Path(__file__).resolve().parents[2]


def _form(name: str = "Nguyễn Thị Phương Thảo", **kw: object) -> IntakeForm:
    form = IntakeForm(
        procedure_code="2.001035", applicant=Applicant(name=name, id_number="038199012345")
    )
    for k, v in kw.items():
        setattr(form, k, v)
    return form


def _in_force_row(db: object, desk: Desk) -> Procedure:
    version = desk.procedure("2.001035").version
    return db.exec(  # type: ignore[attr-defined, no-any-return]
        select(Procedure).where(Procedure.code == "2.001035", Procedure.version == version)
    ).one()


def test_a_catalogue_edit_by_another_process_reaches_the_next_intake(
    desk: Desk, clock: Clock
) -> None:
    """Parsed catalogue versions are remembered by their stored row: an edit made through
    another connection (another process, a migration) changes the row, so the next intake
    reads the new name, time limit and fee basis."""
    first = desk.receive(_form())
    assert first.procedure_name == "Chứng thực giao dịch về động sản, QSDĐ, nhà ở"
    other = Desk.open(desk.store.path, clock=clock)
    with other.store.write() as db:
        row = _in_force_row(db, other)
        row.name, row.time_value = "Chứng thực giao dịch (tên mới)", 10
        db.add(row)
    second = desk.receive(_form())
    assert second.procedure_name == "Chứng thực giao dịch (tên mới)"
    assert second.due_at is not None and first.due_at is not None
    assert second.due_at > first.due_at + timedelta(days=7)
    with other.store.write() as db:
        row = _in_force_row(db, other)
        row.fee_basis, row.fee_vnd = "per_unit", None
        db.add(row)
    other.close()
    # Now the clerk must type the amount: the intake without one is refused, nothing saved.
    with pytest.raises(IntakeError) as e:
        desk.receive(_form())
    assert "fee" in e.value.errors
    assert desk.receive(_form(fee_vnd=20000)).fee_vnd == 20000
    assert desk.count() == 3


def test_a_lock_or_revocation_written_by_another_process_stops_the_next_intake(
    desk: Desk, clock: Clock
) -> None:
    desk.receive(_form())
    other = Desk.open(desk.store.path, clock=clock)
    revoked = [{"desk": desk.identity.desk_id, "kid": "00" * 8, "revoked_at": 1}]
    with other.store.write() as db:
        db.merge(Setting(key=S_REVOCATIONS, value=json.dumps([])))
    desk.receive(_form())  # an empty list: the parse of "[]" is remembered...
    with other.store.write() as db:
        db.merge(Setting(key=S_REVOCATIONS, value=json.dumps(revoked)))
    other.close()
    with pytest.raises(DeskError):  # ...and a new list is parsed afresh
        desk.receive(_form())
    assert desk.count() == 2


def test_the_tag_of_an_unnumbered_desk_is_read_in_each_transaction(
    tmp_path: Path, clock: Clock
) -> None:
    desk = muong_lat_desk(tmp_path / "desk.sqlite", clock, desk_no=None)
    try:
        assert not desk.numbered
        tag = int(desk.setting(S_DESK_TAG))
        a = desk.receive(_form())
        assert f"-00{tag:06d}" in a.code
        desk.set_setting(S_DESK_TAG, f"{(tag + 1) % 1_000_000}")
        b = desk.receive(_form())
        assert f"-00{(tag + 1) % 1_000_000:06d}" in b.code
        receipt = numbers_of(desk.history(b.code)[0])[DocKind.RECEIPT.value]
        assert receipt.endswith(f"-00{(tag + 1) % 1_000_000:06d}")
    finally:
        desk.close()


_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from onestop.services.desk import Applicant, Desk, IntakeForm
    desk = Desk.open(Path(sys.argv[1]), actor=sys.argv[2])
    for i in range(int(sys.argv[3])):
        form = IntakeForm(
            procedure_code="2.001035",
            applicant=Applicant(name=f"{sys.argv[2]} {i}", id_number="038199012345"),
        )
        print(desk.receive(form).code, flush=True)
    desk.close()
    """
)


def test_two_processes_on_one_desk_never_share_a_code_or_a_slip_number(
    tmp_path: Path, clock: Clock
) -> None:
    """The counters are read and advanced inside each intake's BEGIN IMMEDIATE transaction:
    two real processes receiving at once take turns and the chain stays whole."""
    path = tmp_path / "desk.sqlite"
    muong_lat_desk(path, clock).close()
    n = 12
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), name, str(n)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("Quầy A", "Quầy B")
    ]
    codes: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        codes += out.split()
    assert len(codes) == 2 * n and len(set(codes)) == 2 * n
    desk = Desk.open(path, clock=clock)
    try:
        receipts = [numbers_of(desk.history(c)[0])[DocKind.RECEIPT.value] for c in codes]
        assert len(set(receipts)) == 2 * n
        report = desk.rebuild(fix=False)
        assert report.ok, report
        with desk.store.read() as db:
            seqs = db.exec(select(EventRow.seq).order_by(col(EventRow.seq))).all()
        assert list(seqs) == list(range(1, 2 * n + 1))
    finally:
        desk.close()


def _counts(desk: Desk) -> tuple[int, int, int, int, str, str]:
    with desk.store.read() as db:
        events = len(db.exec(select(EventRow)).all())
        rows = len(db.exec(select(DossierRow)).all())
        counters = sum(c.last for c in db.exec(select(CodeCounter)).all())
        slips = json.dumps(
            sorted(
                (s.key, s.value)
                for s in db.exec(select(Setting)).all()
                if s.key.startswith("doc_counter:")
            )
        )
        head = db.get(DeskState, desk.identity.desk_id)
        fts = db.connection().exec_driver_sql("SELECT count(*) FROM dossier_fts").scalar_one()
    return events, rows, counters, int(fts), slips, head.head.hex() if head else ""


def test_a_failure_late_in_an_intake_writes_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw transaction (Store.write_raw) rolls back the event, the chain head, the code and
    slip counters when the projection write fails after them."""
    paid = _form(fee_vnd=50000, fee_paid_now=True)
    desk.receive(paid)
    before = _counts(desk)

    def broken(**_kw: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(desk_module, "save_dossier", broken)
    with pytest.raises(RuntimeError):
        desk.receive(paid)
    with pytest.raises(RuntimeError):
        desk.refuse_intake(_form(), "Thiếu giấy tờ")
    assert _counts(desk) == before
    monkeypatch.undo()
    st = desk.receive(paid)  # and the desk goes on from where it was
    assert st.code.endswith("0002") and [e.seq for e in desk.history(st.code)] == [3, 4]


def test_raw_statements_keep_the_session_consistent(desk: Desk) -> None:
    """An ORM object loaded before a raw append is expired (it reads the new chain head), ORM
    changes pending before it are flushed first, and a driver error is SQLAlchemy's."""
    code = desk.receive(_form()).code
    with desk.store.write() as db:
        st = db.get(DeskState, desk.identity.desk_id)
        assert st is not None and st.last_seq == 1
        db.add(Setting(key="h3_probe", value="1"))  # pending, not flushed
        append_event(
            db=db,
            desk_id=desk.identity.desk_id,
            kind=EventKind.FORWARD,
            dossier=code,
            at=desk.clock(),
            actor="x",
            role="clerk",
            note="",
            data={"to": "Công chức Tư pháp - Hộ tịch"},
        )
        assert st.last_seq == 2  # expired and read again
        con = connection_of(db)
        assert con.execute("SELECT value FROM setting WHERE key = 'h3_probe'").fetchone() == ("1",)
        with pytest.raises(IntegrityError) as e:
            con.execute("INSERT INTO setting (key, value) VALUES ('h3_probe', '2')")
        assert isinstance(e.value, DBAPIError)
        db.rollback()
    assert desk.setting("h3_probe") == ""
