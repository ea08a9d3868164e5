"""Issue 14, TT 03/2025 Art. 5(2): a component recorded as "chỉ xuất trình" (shown only, no
file): an ``attach`` event without a file, undone by ``detach``, ignored by everything that
looks for files (the files lane of sync, verification, garbage collection, backups)."""

from __future__ import annotations

import pytest

from onestop.domain.attachments import (
    AttachmentError,
    check_shown_only,
    fold,
    fold_shown_only,
    referenced_files,
)
from onestop.domain.events import EventKind
from onestop.services import attachments as att
from onestop.services.backup import _chunk_files
from onestop.services.desk import Desk, DeskError
from onestop.services.sync.files import files_queue, pending_files
from onestop.tui._digitised import build_view
from tests.services.attach_helpers import make_pdf
from tests.services.test_attachments import as_role, chunk_files, receive


def test_mark_list_and_detach(desk: Desk):
    code = receive(desk)
    before = desk.get(code)
    m = att.mark_shown_only(desk, code, 1, paper_pages=2, note="Bản chính xuất trình")
    assert (m.component, m.paper_pages, m.by) == (1, 2, desk.actor)
    last = desk.history(code)[-1]
    assert last.kind == EventKind.ATTACH
    assert last.data == {"component": 1, "shown_only": True, "paper_pages": 2}
    assert desk.get(code) == before  # not a lifecycle step
    assert att.list_shown_only(desk, code) == [m]
    assert att.list_attachments(desk, code) == []  # no file
    history = desk.history(code)
    assert fold(history) == [] and fold_shown_only(history) == [m]
    assert referenced_files(history) == set()
    with pytest.raises(DeskError, match="đã được ghi chỉ xuất trình"):
        att.mark_shown_only(desk, code, 1, paper_pages=2)
    assert att.detach(desk, code, m.id) == before
    assert desk.history(code)[-1].data == {
        "desk": m.desk_id,
        "seq": m.seq,
        "component": 1,
        "shown_only": True,
    }
    assert att.list_shown_only(desk, code) == []


def test_digitised_counts_it(desk: Desk):
    code = receive(desk)
    state = desk.get(code)
    n = len(state.documents)
    assert n >= 2
    att.mark_shown_only(desk, code, 1, paper_pages=1)
    for i in range(2, n + 1):
        att.attach(desk, code, i, make_pdf(1, f"GIAY {i}"), pages=1, paper_pages=1)
    view = build_view(state, att.list_attachments(desk, code), att.list_shown_only(desk, code))
    assert not view.complete  # the result is still missing
    assert view.rows[0].shown is not None and view.rows[0].status == "chỉ xuất trình"
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    att.attach_result(desk, code, make_pdf(1, "QUYET DINH"), 1)
    view = build_view(
        desk.get(code), att.list_attachments(desk, code), att.list_shown_only(desk, code)
    )
    assert view.complete and view.scanned == n


def test_rules(desk: Desk):
    code = receive(desk)
    with pytest.raises(DeskError, match="không có thành phần số 99"):
        att.mark_shown_only(desk, code, 99, paper_pages=1)
    with pytest.raises(DeskError, match="Số trang giấy"):
        att.mark_shown_only(desk, code, 1, paper_pages=0)
    att.attach(desk, code, 2, make_pdf(1), pages=1, paper_pages=1)
    with pytest.raises(DeskError, match="đã có bản số hóa"):
        att.mark_shown_only(desk, code, 2, paper_pages=1)
    as_role(desk, "leader")
    with pytest.raises(DeskError, match="Vai trò"):
        att.mark_shown_only(desk, code, 1, paper_pages=1)
    as_role(desk, "clerk")
    m = att.mark_shown_only(desk, code, 1, paper_pages=1)
    as_role(desk, "leader")
    with pytest.raises(DeskError, match="Vai trò"):
        att.detach(desk, code, m.id)
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    as_role(desk, "specialist")
    with pytest.raises(DeskError, match="trước khi có quyết định"):
        att.mark_shown_only(desk, code, 3, paper_pages=1)
    with pytest.raises(DeskError, match="trước khi có quyết định"):
        att.detach(desk, code, m.id)


def test_shape_is_checked():
    check_shown_only({"component": 1, "shown_only": True, "paper_pages": 1})
    for bad in (
        {"component": "result", "shown_only": True, "paper_pages": 1},
        {"component": 1, "shown_only": True, "paper_pages": 1, "sha256": "a" * 64},
        {"component": 1, "shown_only": True, "paper_pages": 0},
        {"component": 1, "shown_only": False, "paper_pages": 1},
    ):
        with pytest.raises(AttachmentError):
            check_shown_only(bad)


def test_files_lane_verify_and_backup_ignore_it(desk: Desk):
    code = receive(desk)
    att.mark_shown_only(desk, code, 1, paper_pages=3)
    assert pending_files(desk, acked_only=False) == []
    assert files_queue(desk).files == 0
    report = att.verify_files(desk)
    assert not report.missing
    assert att.collect_garbage(desk, min_age_s=0) == 0
    assert chunk_files(desk) == [] and _chunk_files(desk) == []
    # With a real file beside it, only the file is a job.
    a = att.attach(desk, code, 2, make_pdf(1), pages=1, paper_pages=1)
    assert [j.sha256 for j in pending_files(desk, acked_only=False)] == [a.sha256]
