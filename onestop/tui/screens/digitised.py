"""Hồ sơ số hóa: a dossier's components with their scans and the result, and the ways in.

Reached with F7 from the dossier detail and from the receipt after intake. Per line: Quét
(a SANE scanner, ``ScanModal``), Nhập tệp (a PDF or image on disk, ``ImportFileModal``), Enter
(a preview of the pages in the terminal, ``PreviewModal``), Mở (the system viewer: xdg-open,
macOS ``open`` or Windows' "open" verb, on a decrypted 0600 copy), Chỉ xuất trình (F4, hidden
from the footer, listed in help: the paper was only shown, no scan needed, TT 03/2025 Art.
5(2); ``ShownOnlyModal`` asks its page count) and Gỡ (detach a file or undo "chỉ xuất trình",
after a y/n). A key is offered only when the account's role may use it in the dossier's
current status (``tui/_digitised.may_change``, the service's own sets), so nobody is offered a
key only to be refused. Not tied to one line: F9 prints the dossier's separator sheets (a PDF
opened in the system viewer to print) and F12 imports a copier's scan-to-folder stack
(``HotFolderModal``, ``services/hotfolder.py``); both are hidden from the footer (five keys fit
at 80 columns) and listed in the palette and the key panel.

Scanning, normalising (a 20-page PDF takes seconds) and storing run in thread workers; the
modal shows each step and a progress bar (pages done / total while normalising), and every
refusal (not a scan, a corrupt PDF, a page count that does not match the paper) is a
Vietnamese line under the field it concerns, with nothing stored. In the scan form F5 previews
the pages scanned so far and F4 drops the last one, before anything is stored. Heavy imaging
libraries (numpy, Pillow, pikepdf) load only when a modal needs them, not when the desk starts.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from onestop.domain.attachments import RESULT, SHOWN_PREFIX, Attachment, ShownOnly
from onestop.domain.lifecycle import DossierState, status_label
from onestop.i18n import t
from onestop.services.base import DeskError
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings
from onestop.tui._digitised import (
    DigitisedRow,
    DigitisedView,
    Viewer,
    build_view,
    component_name,
    may_change,
    mismatch,
    no_viewer_message,
    page_numbers,
    system_viewer,
)
from onestop.tui.messages import (
    AttachmentsChanged,
    AttachmentsLoaded,
    CaptureFailed,
    CaptureProgressed,
    CaptureStored,
    HotfolderDone,
    HotfolderProgressed,
    PagesScanned,
    PreviewRendered,
    ScannersFound,
)
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.screens.modals import ConfirmModal
from onestop.tui.widgets.digitised.page_preview import PagePreview

#: A file larger than this is refused before it is read (normalise refuses the same).
MAX_IMPORT_BYTES = 200 * 1024 * 1024
DEFAULT_DPI = "200"
SCAN_MODES = (("Màu", "Color"), ("Xám", "Gray"), ("Đen trắng", "Lineart"))

_opened: list[Path] = []  # decrypted copies handed to the viewer, removed when the desk quits


@atexit.register
def _remove_opened() -> None:
    for path in _opened:
        path.unlink(missing_ok=True)


def decrypted_copy(data: bytes, name: str) -> Path:
    """``data`` in a new temp file readable by this account only (mkstemp: 0600), removed when
    the desk quits (the viewer may still hold it open until then)."""
    fd, path = tempfile.mkstemp(prefix=f"onestop-{name}-", suffix=".pdf")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    _opened.append(Path(path))
    return Path(path)


def launch(viewer: Viewer, path: Path) -> None:
    """Hand ``path`` to the system viewer, detached from the desk (its output never reaches
    the terminal the desk draws on)."""
    if viewer.kind == "startfile":
        startfile: Callable[[str], None] = getattr(os, "startfile")  # noqa: B009 - Windows only
        startfile(str(path))
        return
    proc = subprocess.Popen(  # noqa: S603 - a program found on PATH, a path we created
        [*viewer.argv, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the viewer outlives neither the terminal nor our keys
    )
    # Reaped by a daemon thread: the desk never waits for the clerk to close the viewer, and
    # no Popen is dropped while its program runs (which would warn and leave a zombie).
    threading.Thread(target=proc.wait, name="viewer-reaper", daemon=True).start()


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, size // 1024)} KB"


class PathSuggester(Suggester):
    """Completes a path as it is typed (→ accepts): Textual has no native file dialog."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(value).expanduser()
        folder, prefix = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        try:
            names = sorted(
                p.name + (os.sep if p.is_dir() else "")
                for p in folder.iterdir()
                if p.name.startswith(prefix) and not p.name.startswith(".")
            )
        except OSError:
            return None
        if not names:
            return None
        head = value if value.endswith(os.sep) else value[: len(value) - len(prefix)]
        return head + names[0]


# ---------------------------------------------------------------------- the screen


class DigitisedScreen(DeskScreen):
    BAR_TITLE = "Hồ sơ số hóa"
    BINDINGS = [
        bind("escape", "back", "Quay lại", "Về màn hình trước", id="digitised.back"),
        bind("f6", "scan", "Quét", "Quét thành phần này bằng máy quét", id="digitised.scan"),
        bind("f7", "import", "Nhập tệp", "Nhập tệp PDF hoặc ảnh đã có", id="digitised.import"),
        bind("f8", "open", "Mở", "Mở tệp bằng trình xem của máy", id="digitised.open"),
        bind("delete", "detach", "Gỡ", "Gỡ tệp đính kèm sai", id="digitised.detach"),
        bind("f5", "refresh", "Làm mới", "Tải lại danh sách", id="digitised.refresh", show=False),
        bind(
            "f4",
            "shown_only",
            "Chỉ xuất trình",
            "Giấy tờ chỉ xuất trình, không cần số hóa",
            id="digitised.shown_only",
            show=False,
        ),
        bind(
            "enter",
            "preview",
            "Xem trước",
            "Xem trước các trang của tệp ngay trong cửa sổ này",
            id="digitised.preview",
            show=False,
        ),
        bind(
            "f9",
            "separator",
            "Tờ phân cách",
            "In tờ phân cách của hồ sơ để quét cả chồng qua máy photocopy",
            id="digitised.separator",
            show=False,
        ),
        bind(
            "f12",
            "hotfolder",
            "Thư mục quét",
            "Nhập các chồng giấy máy photocopy đã quét vào thư mục",
            id="digitised.hotfolder",
            show=False,
        ),
    ]

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.state: DossierState | None = None
        self.view: DigitisedView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(t("Đang tải hồ sơ {code}…", code=self.code), id="dig-summary", markup=False)
        yield DataTable(id="dig-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="dig-row", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#dig-table", DataTable)
        table.add_column(t("Số"), key="no", width=3)
        table.add_column(t("Thành phần hồ sơ"), key="name", width=44)
        table.add_column(t("Tình trạng"), key="status", width=22)
        table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._load()

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss()

    @work(
        thread=True,
        exclusive=True,
        group="digitised-load",
        exit_on_error=False,
        description="Tải hồ sơ số hóa",
    )
    def _load(self) -> None:
        from onestop.services.attachments import list_attachments, list_shown_only

        state = self.desk.get(self.code)
        attachments = list_attachments(self.desk, self.code)
        shown = list_shown_only(self.desk, self.code)
        if not get_current_worker().is_cancelled:
            self.post_message(AttachmentsLoaded(state, attachments, shown))

    def on_attachments_loaded(self, message: AttachmentsLoaded) -> None:
        self.state = message.state
        self.view = build_view(message.state, message.attachments, message.shown_only)
        self._show_summary()
        table = self.query_one("#dig-table", DataTable)
        keep = table.cursor_row
        table.clear()  # a handful of lines, reloaded after each change: no flicker to avoid
        for row in self.view.rows:
            number = (
                "" if not row.first else ("KQ" if row.component == RESULT else str(row.component))
            )
            name = row.name if row.first else "  " + t("(tệp thêm)")
            style = "" if row.attachment or row.shown else "dim"
            table.add_row(
                number, Text(name, style=style), Text(row.status, style=style), key=row.key
            )
        if self.view.rows:
            table.move_cursor(row=min(keep, len(self.view.rows) - 1))
        self._show_row()

    def _show_summary(self) -> None:
        assert self.state is not None and self.view is not None
        state, view = self.state, self.view
        out = Text()
        out.append(f"{state.code}", style="bold")
        out.append(f" · {state.procedure_code} {state.procedure_name}\n")
        out.append(
            t(
                "Đã số hóa {n}/{m} thành phần · Kết quả: {result} · Trạng thái: {status}",
                n=view.scanned,
                m=len(view.items),
                result=t("đã có") if view.result_attached else t("chưa có"),
                status=status_label(state.status),
            )
        )
        if view.complete:
            out.append("\n" + t("Hồ sơ đã được số hóa đầy đủ."), style="bold")
        elif not (self._may(False) or self._may(True)):
            out.append("\n" + t("Chỉ xem: vai trò của bạn không thay đổi được bản số hóa lúc này."))
        self.query_one("#dig-summary", Static).update(out)

    # ------------------------------------------------------------------ the highlighted line

    def current(self) -> DigitisedRow | None:
        if self.view is None or not self.view.rows:
            return None
        row = self.query_one("#dig-table", DataTable).cursor_row
        return self.view.rows[row] if 0 <= row < len(self.view.rows) else None

    def _may(self, result: bool) -> bool:
        if self.state is None:
            return False
        return may_change(self.desk.roles, self.state.status.value, result=result)

    @on(DataTable.RowHighlighted, "#dig-table")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_row()

    @on(DataTable.RowSelected, "#dig-table")
    def _selected(self, _event: DataTable.RowSelected) -> None:
        # Enter on the table (the table takes the key before the screen's binding does).
        if self.check_action("preview", ()):
            self.action_preview()

    def _show_row(self) -> None:
        row = self.current()
        line = self.query_one("#dig-row", Static)
        self.refresh_bindings()
        if row is None:
            line.update("")
            return
        a = row.attachment
        if row.shown is not None:
            line.update(
                t(
                    "Chỉ xuất trình, không cần số hóa ({n} trang giấy) · {by}, {at}",
                    n=row.shown.paper_pages,
                    by=row.shown.by,
                    at=row.shown.at.strftime("%d/%m/%Y %H:%M"),
                )
            )
            return
        if a is None:
            line.update(
                t("Chưa có bản số hóa.")
                if self._may(row.component == RESULT)
                else t("Chưa có bản số hóa.")
                + " "
                + t("Vai trò của bạn không đính kèm được lúc này.")
            )
            return
        line.update(
            t(
                "Tệp {id} · {size} · {pages} trang · {by}, {at}{reused} · Enter: xem trước",
                id=a.id,
                size=_size_text(a.size),
                pages=a.pages,
                by=a.by,
                at=a.at.strftime("%d/%m/%Y %H:%M"),
                reused=" · " + t("dùng lại từ hồ sơ khác") if a.reused else "",
            )
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "separator":
            return self.state is not None and bool(self.state.documents) and self._may(False)
        if action in ("scan", "import", "open", "preview", "detach", "shown_only"):
            row = self.current()
            if row is None:
                return False
            if action in ("open", "preview"):
                return row.attachment is not None
            if not self._may(row.component == RESULT):
                return False  # never offered, rather than refused after the form
            if action == "detach":
                return row.attachment is not None or row.shown is not None
            if action == "shown_only":
                return row.component != RESULT and row.attachment is None and row.shown is None
        return True

    # ------------------------------------------------------------------ actions

    def action_scan(self) -> None:
        row = self.current()
        if row is not None and self.state is not None:
            self.app.push_screen(ScanModal(self.state, row.component), self._stored)

    def action_import(self) -> None:
        row = self.current()
        if row is not None and self.state is not None:
            self.app.push_screen(ImportFileModal(self.state, row.component), self._stored)

    def _stored(self, attachment: Attachment | None) -> None:
        if attachment is None:
            return
        self.notify(
            t(
                "Đã lưu bản số hóa «{name}» ({n} trang).",
                name=component_name(self.state, attachment.component) if self.state else "",
                n=attachment.pages,
            ),
            markup=False,
        )
        self.reload()

    def action_shown_only(self) -> None:
        row = self.current()
        if row is None or self.state is None or row.component == RESULT:
            return
        if row.attachment is not None or row.shown is not None:
            return
        self.app.push_screen(ShownOnlyModal(self.state, int(row.component)), self._marked)

    def _marked(self, mark: ShownOnly | None) -> None:
        if mark is None:
            return
        self.notify(
            t(
                "Đã ghi «{name}» chỉ xuất trình, không cần số hóa.",
                name=component_name(self.state, mark.component) if self.state else "",
            ),
            markup=False,
        )
        self.reload()

    def action_detach(self) -> None:
        row = self.current()
        if row is not None and row.shown is not None:
            mark_id = row.shown.id
            question = t(
                "Bỏ ghi «{name}» chỉ xuất trình của hồ sơ {code}?\n"
                "Việc này được ghi vào nhật ký hồ sơ.",
                name=row.name,
                code=self.code,
            )

            def undo(yes: bool | None) -> None:
                if yes:
                    self._remove_file(mark_id)

            self.app.push_screen(ConfirmModal(question), undo)
            return
        if row is None or row.attachment is None:
            return
        question = t(
            "Gỡ tệp {id} ({n} trang) khỏi «{name}» của hồ sơ {code}?\n"
            "Việc gỡ được ghi vào nhật ký hồ sơ.",
            id=row.attachment.id,
            n=row.attachment.pages,
            name=row.name,
            code=self.code,
        )
        attachment_id = row.attachment.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove_file(attachment_id)

        self.app.push_screen(ConfirmModal(question), answered)

    @work(
        thread=True,
        exclusive=True,
        group="digitised-change",
        exit_on_error=False,
        description="Gỡ tệp đính kèm",
    )
    def _remove_file(self, attachment_id: str) -> None:
        from onestop.services.attachments import detach

        try:
            detach(self.desk, self.code, attachment_id)
        except DeskError as e:
            self.post_message(AttachmentsChanged(attachment_id, str(e)))
            return
        self.post_message(AttachmentsChanged(attachment_id))

    def on_attachments_changed(self, message: AttachmentsChanged) -> None:
        if message.error:
            self.notify(
                message.error,
                title=t("Không thực hiện được"),
                severity="error",
                timeout=10,
                markup=False,
            )
        elif message.done.startswith(SHOWN_PREFIX):
            self.notify(t("Đã bỏ ghi chỉ xuất trình."), markup=False)
        else:
            self.notify(t("Đã gỡ tệp {id}.", id=message.done), markup=False)
        self.reload()

    def action_open(self) -> None:
        row = self.current()
        if row is None or row.attachment is None:
            return
        viewer = system_viewer(sys.platform, shutil.which)
        if viewer is None:
            self.notify(
                no_viewer_message(sys.platform), severity="warning", timeout=10, markup=False
            )
            return
        self._open(row.attachment.id, viewer)

    @work(
        thread=True,
        exclusive=True,
        group="digitised-open",
        exit_on_error=False,
        description="Mở tệp đính kèm",
    )
    def _open(self, attachment_id: str, viewer: Viewer) -> None:
        from onestop.services.attachments import open_file

        try:
            data = open_file(self.desk, self.code, attachment_id)
        except DeskError as e:
            self.app.call_from_thread(
                self.notify, str(e), severity="error", timeout=10, markup=False
            )
            return
        try:
            launch(viewer, decrypted_copy(data, attachment_id))
        except OSError as e:
            self.app.call_from_thread(
                self.notify,
                t("Không mở được trình xem tệp của máy: {e}", e=e.strerror or e),
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        self.app.call_from_thread(
            self.notify, t("Đã mở tệp {id} bằng trình xem của máy.", id=attachment_id), markup=False
        )

    def action_preview(self) -> None:
        row = self.current()
        if row is None or row.attachment is None:
            return
        self.app.push_screen(
            PreviewModal(
                t("«{name}» — tệp {id}", name=row.name, id=row.attachment.id),
                code=self.code,
                attachment_id=row.attachment.id,
            )
        )

    def action_separator(self) -> None:
        if self.state is None:
            return
        viewer = system_viewer(sys.platform, shutil.which)
        self.notify(t("Đang tạo tờ phân cách…"), markup=False)
        self._separator(viewer)

    @work(
        thread=True,
        exclusive=True,
        group="digitised-open",
        exit_on_error=False,
        description="In tờ phân cách",
    )
    def _separator(self, viewer: Viewer | None) -> None:
        from onestop.services.hotfolder import separator_sheets

        try:
            code, pdf = separator_sheets(self.desk, self.code)
        except DeskError as e:
            self.app.call_from_thread(
                self.notify, str(e), severity="error", timeout=10, markup=False
            )
            return
        path = decrypted_copy(pdf, f"to-phan-cach-{code}")
        if viewer is None:
            message = t("Đã ghi tờ phân cách vào {p}; hãy mở tệp này để in.", p=path)
        else:
            try:
                launch(viewer, path)
            except OSError as e:
                message = t("Đã ghi tờ phân cách vào {p} nhưng không mở được: {e}", p=path, e=e)
            else:
                message = t(
                    "Đã mở tờ phân cách của hồ sơ {code} để in ({p}). Đặt mỗi tờ trước giấy tờ "
                    "của thành phần đó rồi quét cả chồng vào thư mục quét.",
                    code=code,
                    p=path,
                )
        self.app.call_from_thread(self.notify, message, timeout=15, markup=False)

    def action_hotfolder(self) -> None:
        self.app.push_screen(HotFolderModal(), lambda _done: self.reload())

    def palette_commands(self) -> list[PaletteCommand]:
        out = []
        for action, title in (
            ("scan", t("Quét thành phần đang chọn")),
            ("import", t("Nhập tệp cho thành phần đang chọn")),
            ("preview", t("Xem trước tệp đang chọn")),
            ("open", t("Mở tệp đang chọn")),
            ("detach", t("Gỡ tệp đang chọn")),
            ("separator", t("In tờ phân cách của hồ sơ (quét qua thư mục)")),
            ("hotfolder", t("Nhập từ thư mục quét của máy photocopy")),
        ):
            if self.check_action(action, ()):
                out.append(PaletteCommand(title, getattr(self, f"action_{action}")))
        return out


# ---------------------------------------------------------------------- capture modals


class ShownOnlyModal(ModalScreen[ShownOnly | None]):
    """Chỉ xuất trình: the paper's page count, then the mark is recorded (no file)."""

    DEFAULT_CSS = """
    ShownOnlyModal { align: center middle; }
    ShownOnlyModal > Vertical {
        width: 70; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    ShownOnlyModal .cap-title { text-style: bold; width: 100%; }
    ShownOnlyModal .cap-row { height: auto; }
    ShownOnlyModal .cap-row Label { width: 24; }
    ShownOnlyModal .cap-row Input { width: 1fr; }
    ShownOnlyModal .field-error { color: $error; }
    ShownOnlyModal .field-error.-empty { display: none; }
    ShownOnlyModal #so-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ShownOnlyModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Đóng", "Đóng, không ghi gì", id="shown_only.cancel"),
        bind("f10", "save", "Lưu", "Ghi giấy tờ chỉ xuất trình", id="shown_only.save"),
    ]

    def __init__(self, state: DossierState, component: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.state = state
        self.component = component

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                t(
                    "Chỉ xuất trình «{name}» (hồ sơ {code}): không cần số hóa",
                    name=component_name(self.state, self.component),
                    code=self.state.code,
                ),
                classes="cap-title",
                markup=False,
            )
            with Horizontal(classes="cap-row"):
                yield Label(t("Số trang giấy (bắt buộc)"))
                yield Input(id="so-paper", compact=True, restrict=r"[0-9]*", max_length=4)
            yield Static("", id="so-error", classes="field-error -empty", markup=False)
            with Horizontal(id="so-buttons"):
                yield Button(t("Lưu (F10)"), id="so-save", variant="primary", compact=True)
                yield Button(t("Đóng (Esc)"), id="so-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#so-paper", Input).focus()

    @on(Button.Pressed, "#so-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#so-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted, "#so-paper")
    def _submitted(self) -> None:
        self.action_save()

    def _error(self, message: str) -> None:
        widget = self.query_one("#so-error", Static)
        widget.update(message)
        widget.set_class(not message, "-empty")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        from onestop.services.attachments import mark_shown_only

        paper, _sticky, errors = page_numbers(self.query_one("#so-paper", Input).value, "")
        if paper is None or errors:
            self._error(errors.get("paper", ""))
            return
        desk = desk_app(self).desk
        if desk is None:
            return
        try:
            mark = mark_shown_only(desk, self.state.code, self.component, paper_pages=paper)
        except DeskError as e:
            self._error(str(e))
            return
        self.dismiss(mark)


class CaptureModal(ModalScreen[Attachment | None]):
    """What importing and scanning share: the paper's page counts, progress, storing."""

    DEFAULT_CSS = """
    CaptureModal { align: center middle; }
    CaptureModal > Vertical {
        width: 76; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    CaptureModal .cap-title { text-style: bold; width: 100%; }
    CaptureModal .cap-row { height: auto; }
    CaptureModal .cap-row Label { width: 24; padding-top: 0; }
    CaptureModal .cap-row Input, CaptureModal .cap-row Select { width: 1fr; }
    CaptureModal .field-error { color: $error; height: auto; }
    CaptureModal .field-error.-empty { display: none; }
    CaptureModal #cap-progress-row { height: auto; }
    CaptureModal #cap-progress-row.-idle { display: none; }
    CaptureModal #cap-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    CaptureModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Đóng", "Đóng, không lưu gì", id="capture.cancel"),
        bind("f10", "save", "Lưu", "Kiểm tra số trang rồi lưu bản số hóa", id="capture.save"),
    ]

    TITLE_TEXT = ""

    def __init__(self, state: DossierState, component: int | str) -> None:
        super().__init__()
        translate_bindings(self)
        self.state = state
        self.component = component
        self.name_ = component_name(state, component)
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                t(self.TITLE_TEXT, name=self.name_, code=self.state.code),
                classes="cap-title",
                markup=False,
            )
            yield from self.compose_source()
            with Horizontal(classes="cap-row"):
                yield Label(t("Số trang giấy (bắt buộc)"))
                yield Input(id="cap-paper", compact=True, restrict=r"[0-9]*", max_length=4)
            yield self._error("paper")
            with Horizontal(classes="cap-row"):
                yield Label(t("Trang có giấy ghi chú"))
                yield Input(
                    id="cap-sticky",
                    compact=True,
                    restrict=r"[0-9]*",
                    max_length=4,
                    placeholder=t("0 (mỗi trang như vậy chụp hai lần)"),
                )
            yield self._error("sticky")
            with Vertical(id="cap-progress-row", classes="-idle"):
                yield Static("", id="cap-progress-text", markup=False)
                yield ProgressBar(id="cap-progress", show_eta=False)
            yield self._error("form")
            with Horizontal(id="cap-buttons"):
                yield from self.compose_buttons()
                yield Button(t("Lưu (F10)"), id="cap-save", variant="primary", compact=True)
                yield Button(t("Đóng (Esc)"), id="cap-cancel", compact=True)

    def compose_source(self) -> ComposeResult:
        yield from ()

    def compose_buttons(self) -> ComposeResult:
        yield from ()

    @staticmethod
    def _error(field: str) -> Static:
        return Static("", id=f"cap-err-{field}", classes="field-error -empty", markup=False)

    def show_error(self, field: str, message: str) -> None:
        widget = self.query_one(f"#cap-err-{field}", Static)
        widget.update(message)
        widget.set_class(not message, "-empty")

    def clear_errors(self) -> None:
        for widget in self.query(".field-error").results(Static):
            widget.update("")
            widget.add_class("-empty")

    def pages_typed(self) -> tuple[int, int] | None:
        paper, sticky, errors = page_numbers(
            self.query_one("#cap-paper", Input).value, self.query_one("#cap-sticky", Input).value
        )
        for field in ("paper", "sticky"):
            self.show_error(field, errors.get(field, ""))
        if paper is None or errors:
            self.query_one("#cap-paper" if "paper" in errors else "#cap-sticky", Input).focus()
            return None
        return paper, sticky

    def set_busy(self, text: str) -> None:
        self.busy = bool(text)
        row = self.query_one("#cap-progress-row")
        row.set_class(not text, "-idle")
        self.query_one("#cap-progress-text", Static).update(text)
        if text:
            self.query_one("#cap-progress", ProgressBar).update(total=None, progress=0)
        for button in self.query(Button).results(Button):
            if button.id != "cap-cancel":
                button.disabled = bool(text)

    def action_cancel(self) -> None:
        if self.busy:
            self.notify(
                t("Đang xử lý, chờ xong rồi đóng (chưa lưu gì cho đến khi xong)."),
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(None)

    def action_save(self) -> None:
        """Each capture kind (ImportFileModal, ScanModal) says how it saves; this shared base
        is never pushed on its own, so reaching it is a programming error."""
        raise NotImplementedError(type(self).__name__)

    @on(Button.Pressed, "#cap-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cap-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    # --- in a worker thread ---

    def page_progress(self, done: int, total: int) -> None:
        """Normalising told us a page is done: a determinate bar (pages done / total)."""
        self.post_message(
            CaptureProgressed(
                t("Đang chuẩn hóa trang {d}/{n}…", d=min(done + 1, total), n=total)
                if done < total
                else t("Đã chuẩn hóa {n} trang.", n=total),
                progress=done,
                total=total,
            )
        )

    def store(self, pdf: bytes, pages: int, paper: int, sticky: int) -> None:
        """Check the page count against the paper, then encrypt, store and record (thread)."""
        wrong = mismatch(self.name_, paper, sticky, pages)
        if wrong is not None:
            self.post_message(CaptureFailed("paper", wrong + " " + t("Chưa lưu gì.")))
            return
        from onestop.services.attachments import attach

        self.post_message(CaptureProgressed(t("Đang mã hóa và lưu {n} trang…", n=pages)))
        desk = desk_app(self).desk
        assert desk is not None
        try:
            attached = attach(
                desk,
                self.state.code,
                self.component,
                pdf,
                pages=pages,
                paper_pages=paper,
                sticky_pages=sticky,
            )
        except DeskError as e:
            self.post_message(CaptureFailed("form", str(e)))
            return
        self.post_message(CaptureStored(attached))

    # --- back on the UI thread ---

    def on_capture_progressed(self, message: CaptureProgressed) -> None:
        self.set_busy(message.text)
        if message.total is not None:
            self.query_one("#cap-progress", ProgressBar).update(
                total=message.total, progress=message.progress or 0
            )

    def on_capture_failed(self, message: CaptureFailed) -> None:
        self.set_busy("")
        self.show_error(message.field, message.message)

    def on_capture_stored(self, message: CaptureStored) -> None:
        self.set_busy("")
        self.dismiss(message.attachment)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.set_busy("")
            desk_app(self).report_worker_error(event.worker)


class ImportFileModal(CaptureModal):
    """Nhập tệp: a PDF, JPEG, PNG or TIFF already on this computer, for one paper."""

    TITLE_TEXT = "Nhập tệp cho «{name}» (hồ sơ {code})"

    def compose_source(self) -> ComposeResult:
        with Horizontal(classes="cap-row"):
            yield Label(t("Đường dẫn tệp"))
            yield Input(
                id="cap-path",
                compact=True,
                placeholder=t("~/Tải về/giay-khai-sinh.pdf (→ để hoàn thành)"),
                suggester=PathSuggester(),
            )
        yield self._error("path")

    def on_mount(self) -> None:
        self.query_one("#cap-path", Input).focus()

    def action_save(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        raw = self.query_one("#cap-path", Input).value.strip()
        path = Path(raw).expanduser() if raw else None
        problem = ""
        if path is None:
            problem = t("Chưa nhập đường dẫn tệp.")
        elif not path.exists():
            problem = t("Không có tệp {path}.", path=path)
        elif not path.is_file():
            problem = t("{path} không phải là một tệp.", path=path)
        elif not os.access(path, os.R_OK):
            problem = t("Không có quyền đọc tệp {path}.", path=path)
        if problem:
            self.show_error("path", problem)
            self.query_one("#cap-path", Input).focus()
            return
        pages = self.pages_typed()
        if pages is None or path is None:
            return
        self.set_busy(t("Đang đọc tệp…"))
        self._import(path, *pages)

    @work(
        thread=True,
        exclusive=True,
        group="capture",
        exit_on_error=False,
        description="Nhập tệp",
    )
    def _import(self, path: Path, paper: int, sticky: int) -> None:
        from onestop.scans import ScanError, normalise_file

        try:
            size = path.stat().st_size
            if size == 0:
                raise ScanError(t("Tệp rỗng (0 byte): không có gì để đính kèm."))
            if size > MAX_IMPORT_BYTES:
                raise ScanError(
                    t(
                        "Tệp {size} vượt giới hạn {max} MB.",
                        size=_size_text(size),
                        max=MAX_IMPORT_BYTES // (1024 * 1024),
                    )
                )
            data = path.read_bytes()
        except OSError as e:
            self.post_message(CaptureFailed("path", t("Không đọc được tệp: {e}", e=e.strerror)))
            return
        except ScanError as e:
            self.post_message(CaptureFailed("path", str(e)))
            return
        self.post_message(
            CaptureProgressed(t("Đang chuẩn hóa tệp ({size})…", size=_size_text(size)))
        )
        try:
            normalised = normalise_file(data, progress=self.page_progress)
        except ScanError as e:
            self.post_message(CaptureFailed("path", str(e)))
            return
        self.store(normalised.pdf, normalised.page_count, paper, sticky)


class ScanModal(CaptureModal):
    """Quét: SANE (``scanimage``). Each press of F6 adds the pages that came off the scanner
    (one from the glass, the whole stack from a feeder); F10 checks and stores them."""

    TITLE_TEXT = "Quét «{name}» (hồ sơ {code})"

    BINDINGS = [
        bind("f6", "scan", "Quét trang", "Quét thêm trang", id="scan.scan"),
        bind("f4", "drop_last", "Bỏ trang cuối", "Bỏ trang vừa quét", id="scan.drop_last"),
        bind("f5", "preview", "Xem trang", "Xem trước các trang đã quét", id="scan.preview"),
    ]

    def __init__(self, state: DossierState, component: int | str) -> None:
        super().__init__(state, component)
        self.pages: list[Any] = []  # PIL images, in paper order

    def compose_source(self) -> ComposeResult:
        with Horizontal(classes="cap-row"):
            yield Label(t("Máy quét"))
            yield Select[str]([], id="cap-device", prompt=t("Đang tìm máy quét…"), compact=True)
        yield self._error("device")
        with Horizontal(classes="cap-row"):
            yield Label(t("Chế độ màu"))
            yield Select[str](
                [(t(label), value) for label, value in SCAN_MODES],
                value="Color",
                allow_blank=False,
                id="cap-mode",
                compact=True,
            )
        with Horizontal(classes="cap-row"):
            yield Label(t("Độ phân giải (dpi)"))
            yield Input(DEFAULT_DPI, id="cap-dpi", compact=True, restrict=r"[0-9]*", max_length=4)
        yield self._error("dpi")
        yield Static(t("Chưa quét trang nào."), id="cap-scanned", markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button(t("Quét trang (F6)"), id="cap-scan", compact=True)

    def on_mount(self) -> None:
        self.query_one("#cap-paper", Input).focus()
        self.set_busy(t("Đang tìm máy quét…"))
        self._find_devices()

    @work(
        thread=True,
        exclusive=True,
        group="capture",
        exit_on_error=False,
        description="Tìm máy quét",
    )
    def _find_devices(self) -> None:
        from onestop.scans import ScanError, list_devices

        try:
            devices = list_devices()
        except ScanError as e:
            self.post_message(ScannersFound([], str(e)))
            return
        self.post_message(ScannersFound(devices))

    def on_scanners_found(self, message: ScannersFound) -> None:
        self.set_busy("")
        select = self.query_one("#cap-device", Select)
        select.set_options([(f"{d.description} ({d.name})", d.name) for d in message.devices])
        if message.devices:
            select.value = message.devices[0].name
        error = message.error or (
            ""
            if message.devices
            else t("Không thấy máy quét nào. Hãy bật máy quét, cắm cáp rồi mở lại.")
        )
        self.show_error("device", error)

    @on(Button.Pressed, "#cap-scan")
    def _scan_pressed(self) -> None:
        self.action_scan()

    def action_scan(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        device = self.query_one("#cap-device", Select).value
        if not isinstance(device, str):
            self.show_error("device", t("Chưa chọn máy quét."))
            return
        dpi = self.query_one("#cap-dpi", Input).value.strip()
        if not dpi.isdigit() or not 75 <= int(dpi) <= 600:
            self.show_error("dpi", t("Độ phân giải phải từ 75 đến 600 dpi (nên dùng 200)."))
            return
        mode = self.query_one("#cap-mode", Select).value
        self.set_busy(t("Đang quét… (máy quét đang chạy, đừng mở nắp)"))
        self._scan(device, str(mode), int(dpi))

    @work(
        thread=True,
        exclusive=True,
        group="capture",
        exit_on_error=False,
        description="Quét giấy tờ",
    )
    def _scan(self, device: str, mode: str, dpi: int) -> None:
        from onestop.scans import ScanError, scan_pages

        try:
            pages = scan_pages(device, mode=mode, dpi=dpi)
        except ScanError as e:
            self.post_message(CaptureFailed("device", str(e)))
            return
        self.post_message(PagesScanned(pages))

    def on_pages_scanned(self, message: PagesScanned) -> None:
        self.set_busy("")
        self.pages.extend(message.pages)
        self._show_count()

    def _show_count(self) -> None:
        self.query_one("#cap-scanned", Static).update(
            t(
                "Đã quét {n} trang. F6 quét thêm · F5 xem · F4 bỏ trang cuối · F10 lưu khi đủ "
                "số trang giấy.",
                n=len(self.pages),
            )
            if self.pages
            else t("Chưa quét trang nào.")
        )

    def action_drop_last(self) -> None:
        """Remove the last page scanned (a skewed or wrong sheet) before anything is stored."""
        if self.busy or not self.pages:
            return
        self.pages.pop()
        self._show_count()
        self.notify(t("Đã bỏ trang cuối; còn {n} trang.", n=len(self.pages)), markup=False)

    def action_preview(self) -> None:
        if self.pages and not self.busy:
            self.app.push_screen(
                PreviewModal(
                    t("Các trang vừa quét của «{name}»", name=self.name_), images=self.pages
                )
            )

    def action_save(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        pages = self.pages_typed()
        if pages is None:
            return
        if not self.pages:
            self.show_error("form", t("Chưa quét trang nào: nhấn F6 để quét."))
            return
        self.set_busy(t("Đang chuẩn hóa {n} trang…", n=len(self.pages)))
        self._save(list(self.pages), *pages)

    @work(
        thread=True,
        exclusive=True,
        group="capture",
        exit_on_error=False,
        description="Lưu bản quét",
    )
    def _save(self, images: list[Any], paper: int, sticky: int) -> None:
        from onestop.scans import ScanError, normalise_pages

        try:
            normalised = normalise_pages(images, progress=self.page_progress)
        except ScanError as e:
            self.post_message(CaptureFailed("form", str(e)))
            return
        self.store(normalised.pdf, normalised.page_count, paper, sticky)


# ---------------------------------------------------------------------- preview


class PreviewModal(ModalScreen[None]):
    """The pages of a stored file (decrypted in memory, drawn with half blocks) or of pages
    just scanned; PgDn/PgUp turn the page, F8 opens a stored file in the system viewer."""

    DEFAULT_CSS = """
    PreviewModal { align: center middle; }
    PreviewModal > Vertical {
        width: 90%; height: 95%; border: thick $primary; background: $surface; padding: 0 1;
    }
    PreviewModal #pv-title { text-style: bold; height: 1; }
    PreviewModal PagePreview { height: 1fr; }
    PreviewModal #pv-status { height: 1; color: $text-muted; }
    """

    BINDINGS = [
        bind("escape", "close", "Đóng", "Đóng bản xem trước", id="preview.close"),
        bind("pagedown", "next", "Trang sau", "Trang sau", id="preview.next"),
        bind("pageup", "prev", "Trang trước", "Trang trước", id="preview.prev"),
        bind("f8", "open", "Mở", "Mở tệp bằng trình xem của máy", id="preview.open"),
    ]

    def __init__(
        self,
        title: str,
        *,
        code: str = "",
        attachment_id: str = "",
        images: list[Any] | None = None,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.code = code
        self.attachment_id = attachment_id
        self.images = list(images) if images is not None else None
        self.page = 1
        self.count = len(self.images) if self.images is not None else 0
        self._pdf: bytes | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="pv-title", markup=False)
            yield PagePreview(id="pv-page")
            yield Static(t("Đang mở tệp…"), id="pv-status", markup=False)

    def on_mount(self) -> None:
        self._turn(1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return bool(self.attachment_id)
        return True

    def action_close(self) -> None:
        self._pdf = None  # the decrypted bytes go with the modal
        self.dismiss(None)

    def action_next(self) -> None:
        if self.page < self.count:
            self._turn(self.page + 1)

    def action_prev(self) -> None:
        if self.page > 1:
            self._turn(self.page - 1)

    def action_open(self) -> None:
        screen = next(
            (s for s in reversed(self.app.screen_stack) if isinstance(s, DigitisedScreen)), None
        )
        if screen is not None:
            screen.action_open()

    def _turn(self, page: int) -> None:
        self.page = page
        if self.images is not None:
            self.on_preview_rendered(PreviewRendered(self.images[page - 1], page, self.count))
            return
        self.query_one("#pv-status", Static).update(t("Đang dựng trang {n}…", n=page))
        self._draw_page(page)

    @work(
        thread=True,
        exclusive=True,
        group="preview",
        exit_on_error=False,
        description="Dựng trang xem trước",
    )
    def _draw_page(self, page: int) -> None:
        from onestop.scans import ScanError, pdf_page_count, render_page
        from onestop.services.attachments import open_file

        desk = desk_app(self).desk
        if desk is None:
            return
        try:
            if self._pdf is None:
                self._pdf = open_file(desk, self.code, self.attachment_id)
            count = pdf_page_count(self._pdf)
            image = render_page(self._pdf, min(page, count))
        except (DeskError, ScanError) as e:
            self.post_message(PreviewRendered(None, page, self.count, str(e)))
            return
        self.post_message(PreviewRendered(image, min(page, count), count))

    def on_preview_rendered(self, message: PreviewRendered) -> None:
        status = self.query_one("#pv-status", Static)
        if message.error:
            status.update(message.error)
            return
        self.count = message.count
        self.page = message.page
        self.query_one("#pv-page", PagePreview).show(message.image)
        status.update(
            t(
                "Trang {n}/{m} · PgDn/PgUp: trang sau/trước · F8: mở bằng trình xem của máy · "
                "Esc: đóng",
                n=message.page,
                m=message.count,
            )
            if self.attachment_id
            else t(
                "Trang {n}/{m} · PgDn/PgUp: trang sau/trước · Esc: đóng",
                n=message.page,
                m=message.count,
            )
        )


# ---------------------------------------------------------------------- hot folder


class HotFolderModal(ModalScreen[int]):
    """Nhập từ thư mục quét: one pass over a copier's scan-to-folder (services/hotfolder.py),
    with a determinate progress bar (files read, then stacks stored) and each part's outcome.
    Dismisses with the number of parts attached."""

    DEFAULT_CSS = """
    HotFolderModal { align: center middle; }
    HotFolderModal > Vertical {
        width: 84; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HotFolderModal .cap-title { text-style: bold; }
    HotFolderModal .cap-row { height: auto; }
    HotFolderModal .cap-row Label { width: 18; }
    HotFolderModal .cap-row Input { width: 1fr; }
    HotFolderModal #hf-error { color: $error; height: auto; }
    HotFolderModal #hf-error.-empty { display: none; }
    HotFolderModal #hf-progress-row.-idle { display: none; }
    HotFolderModal #hf-progress-row { height: auto; }
    HotFolderModal #hf-results { height: auto; max-height: 12; }
    HotFolderModal #hf-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    HotFolderModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Đóng", "Đóng", id="hotfolder.cancel"),
        bind("f10", "run", "Nhập", "Nhập các chồng giấy trong thư mục", id="hotfolder.run"),
    ]

    def __init__(self, folder: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.folder = folder
        self.busy = False
        self.attached = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("Nhập từ thư mục quét của máy photocopy"), classes="cap-title")
            yield Static(
                t(
                    "Mỗi chồng giấy bắt đầu bằng tờ phân cách (F9 trên «Hồ sơ số hóa») cho biết "
                    "hồ sơ và thành phần. Tệp nhập xong được chuyển vào thư mục con done/."
                ),
                markup=False,
            )
            with Horizontal(classes="cap-row"):
                yield Label(t("Thư mục quét"))
                yield Input(
                    self.folder,
                    id="hf-path",
                    compact=True,
                    placeholder=t("~/Máy quét/ (→ để hoàn thành)"),
                    suggester=PathSuggester(),
                )
            yield Static("", id="hf-error", classes="-empty", markup=False)
            with Vertical(id="hf-progress-row", classes="-idle"):
                yield Static("", id="hf-progress-text", markup=False)
                yield ProgressBar(id="hf-progress", show_eta=False)
            with VerticalScroll(id="hf-results"):
                yield Static("", id="hf-parts", markup=False)
            with Horizontal(id="hf-buttons"):
                yield Button(t("Nhập (F10)"), id="hf-run", variant="primary", compact=True)
                yield Button(t("Đóng (Esc)"), id="hf-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#hf-path", Input).focus()

    def _error(self, message: str) -> None:
        widget = self.query_one("#hf-error", Static)
        widget.update(message)
        widget.set_class(not message, "-empty")

    @on(Button.Pressed, "#hf-run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#hf-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted, "#hf-path")
    def _submitted(self) -> None:
        self.action_run()

    def action_cancel(self) -> None:
        if self.busy:
            self.notify(
                t("Đang nhập, chờ xong rồi đóng (phần đã lưu vẫn được giữ)."),
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(self.attached)

    def action_run(self) -> None:
        if self.busy:
            return
        raw = self.query_one("#hf-path", Input).value.strip()
        folder = Path(raw).expanduser() if raw else None
        if folder is None:
            self._error(t("Chưa nhập thư mục quét."))
            return
        if not folder.is_dir():
            self._error(t("Không có thư mục {p}.", p=folder))
            return
        self._error("")
        self.busy = True
        self.query_one("#hf-run", Button).disabled = True
        self.query_one("#hf-progress-row").remove_class("-idle")
        self.query_one("#hf-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#hf-progress-text", Static).update(t("Đang xem thư mục…"))
        self._pass(folder)

    @work(
        thread=True,
        exclusive=True,
        group="hotfolder",
        exit_on_error=False,
        description="Nhập từ thư mục quét",
    )
    def _pass(self, folder: Path) -> None:
        from onestop.services.hotfolder import HotfolderProgress, run_pass

        desk = desk_app(self).desk
        if desk is None:
            return

        def told(p: HotfolderProgress) -> None:
            self.post_message(HotfolderProgressed(p.text, p.done, p.total))

        try:
            parts, left = run_pass(desk, folder, progress=told)
        except DeskError as e:
            self.post_message(HotfolderDone([], [], str(e)))
            return
        self.post_message(HotfolderDone(parts, left))

    def on_hotfolder_progressed(self, message: HotfolderProgressed) -> None:
        self.query_one("#hf-progress-text", Static).update(message.text)
        self.query_one("#hf-progress", ProgressBar).update(
            total=max(message.total, 1), progress=message.done
        )

    def on_hotfolder_done(self, message: HotfolderDone) -> None:
        self.busy = False
        self.query_one("#hf-run", Button).disabled = False
        self.query_one("#hf-progress-row").add_class("-idle")
        if message.error:
            self._error(message.error)
            return
        self.attached += sum(1 for p in message.parts if p.status == "attached")
        out = Text()
        if not message.parts:
            out.append(t("Không có tệp mới trong thư mục."))
        for p in message.parts:
            out.append(
                t(
                    "Hồ sơ {code}, thành phần {n} ({pages} trang): {msg}",
                    code=p.code,
                    n=p.component,
                    pages=p.pages,
                    msg=p.message,
                )
                + "\n",
                style="bold red" if p.status == "left" else "",
            )
        if message.left:
            out.append(
                t(
                    "Để lại trong thư mục (chưa đính kèm hết): {files}",
                    files=", ".join(f.name for f in message.left),
                )
            )
        self.query_one("#hf-parts", Static).update(out)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.busy = False
            self.query_one("#hf-run", Button).disabled = False
            desk_app(self).report_worker_error(event.worker)
