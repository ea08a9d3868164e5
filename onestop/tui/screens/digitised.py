"""Hồ sơ số hóa: a dossier's components with their scans and the result, and the ways in.

Reached with F7 from the dossier detail and from the receipt after intake. Per line: Quét
(a SANE scanner, ``ScanModal``), Nhập tệp (a PDF or image on disk, ``ImportFileModal``), Mở (the
system viewer), Chỉ xuất trình (F4, hidden from the footer, listed in help: the paper was only
shown, no scan needed, TT 03/2025 Art. 5(2); ``ShownOnlyModal`` asks its page count) and Gỡ
(detach a file or undo "chỉ xuất trình", after a y/n). A key is offered only when the account's role may
use it in the dossier's current status (``tui/_digitised.may_change``, the service's own sets),
so nobody is offered a key only to be refused.

Scanning, normalising (a 20-page PDF takes seconds) and storing run in thread workers; the
modal shows each step and a progress bar, and every refusal (not a scan, a corrupt PDF, a page
count that does not match the paper) is a Vietnamese line under the field it concerns, with
nothing stored. Heavy imaging libraries (numpy, Pillow, pikepdf) load only when a modal needs
them, not when the desk starts.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
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
    build_view,
    component_name,
    may_change,
    mismatch,
    page_numbers,
)
from onestop.tui.messages import (
    AttachmentsChanged,
    AttachmentsLoaded,
    CaptureFailed,
    CaptureProgressed,
    CaptureStored,
    PagesScanned,
    ScannersFound,
)
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.screens.modals import ConfirmModal

#: A file larger than this is refused before it is read (normalise refuses the same).
MAX_IMPORT_BYTES = 200 * 1024 * 1024
DEFAULT_DPI = "200"
SCAN_MODES = (("Màu", "Color"), ("Xám", "Gray"), ("Đen trắng", "Lineart"))

_opened: list[Path] = []  # decrypted copies handed to the viewer, removed when the desk quits


@atexit.register
def _remove_opened() -> None:
    for path in _opened:
        path.unlink(missing_ok=True)


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
                "Tệp {id} · {size} · {pages} trang · {by}, {at}{reused}",
                id=a.id,
                size=_size_text(a.size),
                pages=a.pages,
                by=a.by,
                at=a.at.strftime("%d/%m/%Y %H:%M"),
                reused=" · " + t("dùng lại từ hồ sơ khác") if a.reused else "",
            )
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("scan", "import", "open", "detach", "shown_only"):
            row = self.current()
            if row is None:
                return False
            if action == "open":
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
        viewer = shutil.which("xdg-open")
        if viewer is None:
            self.notify(
                t(
                    "Máy này chưa có chương trình mở tệp (xdg-open), nên không mở được bản số hóa."
                    " Hãy nhờ quản trị cài gói xdg-utils."
                ),
                severity="warning",
                timeout=10,
                markup=False,
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
    def _open(self, attachment_id: str, viewer: str) -> None:
        from onestop.services.attachments import open_file

        try:
            data = open_file(self.desk, self.code, attachment_id)
        except DeskError as e:
            self.app.call_from_thread(
                self.notify, str(e), severity="error", timeout=10, markup=False
            )
            return
        # mkstemp creates the file 0600: the decrypted copy is readable by this account only.
        fd, name = tempfile.mkstemp(prefix=f"onestop-{attachment_id}-", suffix=".pdf")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        path = Path(name)
        _opened.append(path)
        subprocess.Popen(  # noqa: S603 - a fixed program on a path we created
            [viewer, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the viewer outlives neither the terminal nor our keys
        )
        self.app.call_from_thread(
            self.notify, t("Đã mở tệp {id} bằng trình xem của máy.", id=attachment_id), markup=False
        )

    def palette_commands(self) -> list[PaletteCommand]:
        out = []
        for action, title in (
            ("scan", t("Quét thành phần đang chọn")),
            ("import", t("Nhập tệp cho thành phần đang chọn")),
            ("open", t("Mở tệp đang chọn")),
            ("detach", t("Gỡ tệp đang chọn")),
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
    ShownOnlyModal .cap-title { text-style: bold; }
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
    CaptureModal .cap-title { text-style: bold; }
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
            normalised = normalise_file(data)
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
        self.query_one("#cap-scanned", Static).update(
            t(
                "Đã quét {n} trang. F6 quét thêm trang; F10 lưu khi đủ số trang giấy.",
                n=len(self.pages),
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
            normalised = normalise_pages(images)
        except ScanError as e:
            self.post_message(CaptureFailed("form", str(e)))
            return
        self.store(normalised.pdf, normalised.page_count, paper, sticky)
