"""Digitised papers on a real desk: attach, list, open, detach, re-use, the rules, the log."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from onestop.domain.attachments import INLINE_CHUNKS, max_attach_body_bytes
from onestop.domain.events import EventKind
from onestop.domain.fields import MAX_EVENT_BYTES
from onestop.domain.lifecycle import Status
from onestop.services import attachments as att
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from onestop.services.setting_keys import S_FILES_SECRET
from onestop.store.files import files_dir
from onestop.store.keyring import Account
from onestop.store.models import EventRow
from onestop.wire.state import replay_or_none
from tests.services.attach_helpers import KNOWN_TEXT, make_pdf


def receive(desk: Desk, name: str = "Nguyễn Văn An") -> str:
    form = IntakeForm(
        procedure_code="2.001035", applicant=Applicant(name=name, id_number="001099012345")
    )
    return desk.receive(form).code


def chunk_files(desk: Desk) -> list[Path]:
    folder = files_dir(desk.store.path)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def n_events(desk: Desk) -> int:
    with desk.store.read() as db:
        return len(db.exec(__import__("sqlmodel").select(EventRow)).all())


def as_role(desk: Desk, *roles: str) -> Desk:
    desk.account = Account("u", "Cán bộ thử", tuple(roles))
    desk.actor = "Cán bộ thử"
    return desk


def test_attach_list_open_detach(desk: Desk):
    code = receive(desk)
    before = desk.get(code)
    assert before.documents
    pdf = make_pdf(3)
    a = att.attach(desk, code, 1, pdf, pages=3, paper_pages=2, sticky_pages=1)
    assert (a.component, a.pages, a.paper_pages, a.sticky_pages) == (1, 3, 2, 1)
    assert not a.reused and a.by == desk.actor
    assert att.list_attachments(desk, code) == [a]
    assert att.open_file(desk, code, a.id) == pdf
    # The lifecycle state is untouched; the manifest is in the log.
    assert desk.get(code) == before
    last = desk.history(code)[-1]
    assert last.kind == EventKind.ATTACH and last.data["sha256"] == a.sha256
    assert last.data["chunks"] == list(a.chunks)
    after = att.detach(desk, code, a.id, note="Quét nhầm")
    assert after == before
    assert att.list_attachments(desk, code) == []
    assert desk.history(code)[-1].data == {
        "desk": a.desk_id,
        "seq": a.seq,
        "sha256": a.sha256,
        "component": 1,
    }
    with pytest.raises(DeskError, match="không có tệp đính kèm"):
        att.open_file(desk, code, a.id)


def test_projection_rebuilt_from_events_equals_the_live_one(desk: Desk):
    code = receive(desk)
    a = att.attach(desk, code, 1, make_pdf(2), pages=2, paper_pages=2)
    att.attach(desk, code, 2, make_pdf(1, "TO KHAI"), pages=1, paper_pages=1)
    att.detach(desk, code, a.id)
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    att.attach_result(desk, code, make_pdf(1, "QUYET DINH"), 1)
    report = desk.rebuild(fix=False)
    assert report.ok, report
    # What the server folds (wire/state.replay_or_none, the same lifecycle.apply).
    assert replay_or_none(desk.history(code)) == desk.get(code)
    kinds = [e.kind for e in desk.history(code)]
    assert kinds.count(EventKind.ATTACH) == 3 and kinds.count(EventKind.DETACH) == 1


def test_page_count_mismatch_is_refused_and_nothing_is_stored(desk: Desk):
    code = receive(desk)
    events = n_events(desk)
    with pytest.raises(DeskError, match="không khớp bản giấy"):
        att.attach(desk, code, 1, make_pdf(3), pages=3, paper_pages=3, sticky_pages=1)
    with pytest.raises(DeskError, match="có 3 trang nhưng khai 4"):
        att.attach(desk, code, 1, make_pdf(3), pages=4, paper_pages=4)
    with pytest.raises(DeskError, match="không phải PDF"):
        att.attach(desk, code, 1, b"MZ\x90\x00 not a pdf", pages=1, paper_pages=1)
    with pytest.raises(DeskError, match="bị hỏng"):
        att.attach(desk, code, 1, b"%PDF-1.7 junk", pages=1, paper_pages=1)
    with pytest.raises(DeskError, match="rỗng"):
        att.attach(desk, code, 1, b"", pages=1, paper_pages=1)
    with pytest.raises(DeskError, match="không có thành phần số 99"):
        att.attach(desk, code, 99, make_pdf(1), pages=1, paper_pages=1)
    assert chunk_files(desk) == []
    assert n_events(desk) == events


def test_reuse_is_counted_and_stored_once(desk: Desk):
    first, second = receive(desk), receive(desk, "Trần Thị Bình")
    card = make_pdf(2, "CAN CUOC CONG DAN")
    a = att.attach(desk, first, 1, card, pages=2, paper_pages=2)
    files = len(chunk_files(desk))
    b = att.attach(desk, second, 1, card, pages=2, paper_pages=2)
    assert (a.reused, b.reused) == (False, True)
    assert len(chunk_files(desk)) == files
    with pytest.raises(DeskError, match="đã được đính kèm"):
        att.attach(desk, second, 2, card, pages=2, paper_pages=2)


def test_roles_and_statuses(desk: Desk):
    code = receive(desk)
    pdf = make_pdf(1, "QUYET DINH")
    with pytest.raises(DeskError, match="đã được giải quyết"):
        att.attach_result(desk, code, pdf, 1)
    as_role(desk, "leader")
    with pytest.raises(DeskError, match="Vai trò"):
        att.attach(desk, code, 1, make_pdf(1), pages=1, paper_pages=1)
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    r = att.attach_result(desk, code, pdf, 1)
    assert r.is_result and desk.history(code)[-1].role == "leader"
    as_role(desk, "clerk")
    with pytest.raises(DeskError, match="Vai trò"):
        att.detach(desk, code, r.id)
    with pytest.raises(DeskError, match="trước khi có quyết định"):
        att.attach(desk, code, 1, make_pdf(1), pages=1, paper_pages=1)
    assert chunk_files(desk)  # the result's chunks only
    assert [a.component for a in att.list_attachments(desk, code)] == ["result"]


def test_a_finished_dossier_takes_no_attachment(desk: Desk):
    code = receive(desk)
    a = att.attach(desk, code, 1, make_pdf(1), pages=1, paper_pages=1)
    desk.act(code, EventKind.WITHDRAW, {"reason": "Công dân rút hồ sơ"})
    assert desk.get(code).status == Status.WITHDRAWN
    with pytest.raises(DeskError, match="trạng thái hiện tại"):
        att.attach(desk, code, 2, make_pdf(2), pages=2, paper_pages=2)
    with pytest.raises(DeskError, match="trạng thái hiện tại"):
        att.detach(desk, code, a.id)
    with pytest.raises(DeskError, match="onestop attach"):
        desk.act(code, EventKind.ATTACH, {})


def test_a_500_page_file_fits_one_event(desk: Desk):
    pikepdf = pytest.importorskip("pikepdf")
    pdf = pikepdf.new()
    for _ in range(500):
        pdf.add_blank_page()
    # A realistic size: ~40 KB a page of incompressible bytes (20 MB, past the inline limit).
    pdf.Root.Padding = pikepdf.Stream(pdf, os.urandom(500 * 40_000))
    buf = io.BytesIO()
    pdf.save(buf)
    data = buf.getvalue()
    code = receive(desk)
    a = att.attach(desk, code, 1, data, pages=500, paper_pages=500)
    assert len(a.index) == 1 and not a.chunks
    assert a.size // 65536 + 1 > INLINE_CHUNKS
    with desk.store.read() as db:
        row = db.exec(
            __import__("sqlmodel").select(EventRow).where(EventRow.kind == "attach")
        ).one()
    assert len(row.body) < 1024  # the chunk list went to the store
    assert att.open_file(desk, code, a.id) == data
    assert att.verify_files(desk).ok
    # The worst case of the policy (256 inline ids, every text at its maximum) fits too.
    assert max_attach_body_bytes() < MAX_EVENT_BYTES


def test_orphans_of_a_failed_attach_and_detached_files_are_collected(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
):
    code = receive(desk)
    paper = make_pdf(2)
    kept = att.attach(desk, code, 1, paper, pages=2, paper_pages=2)
    gone = att.attach(desk, code, 2, make_pdf(3, "TO KHAI"), pages=3, paper_pages=3)
    att.detach(desk, code, gone.id)

    def crash(*_a: object, **_k: object) -> None:
        raise DeskError("mất điện")

    monkeypatch.setattr(Desk, "append_in", crash)
    with pytest.raises(DeskError):
        att.attach(desk, code, 3, make_pdf(1, "ORPHAN"), pages=1, paper_pages=1)
    monkeypatch.undo()
    assert len(att.list_attachments(desk, code)) == 1
    assert att.collect_garbage(desk) == 0  # too young: an attach may be running elsewhere
    assert att.collect_garbage(desk, min_age_s=0) == 2  # the orphan and the detached file
    assert att.open_file(desk, code, kept.id) == paper
    assert att.verify_files(desk).ok


def test_a_stolen_desk_folder_reveals_no_page_text(desk: Desk):
    code = receive(desk)
    pdf = make_pdf(4)
    assert KNOWN_TEXT.encode() in pdf
    att.attach(desk, code, 1, pdf, pages=4, paper_pages=4)
    blob = b"".join(p.read_bytes() for p in chunk_files(desk))
    assert KNOWN_TEXT.encode() not in blob and b"%PDF" not in blob
    # A plain desk keeps a random root secret in its settings (only as safe as its database).
    assert len(desk.setting(S_FILES_SECRET)) == 64


def test_missing_chunk_is_reported(desk: Desk):
    code = receive(desk)
    a = att.attach(desk, code, 1, make_pdf(2), pages=2, paper_pages=2)
    for p in chunk_files(desk):
        p.unlink()
    report = att.verify_files(desk)
    assert report.missing == list(a.chunks)
    with pytest.raises(DeskError, match="Thiếu"):
        att.open_file(desk, code, a.id)
