"""The reports screen: Biểu 06, the tracking book, fees, evaluations and service indicators.

Pick the report, the period (month, quarter, year or any dates; the current month to start
with; F7/F8 step to the previous/next period) and optionally a field. The numbers are the ones
``onestop report`` prints: the same ``services.reports.build_report``, computed in a thread
worker while the table shows a loading indicator. Tables longer than 200 rows are shown a page
at a time (a stock DataTable measures every cell on the UI thread, STYLE pitfalls); the export
(F10: xlsx, pdf, csv) always holds every row. The chart tab shows received vs resolved per week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static, TabbedContent, TabPane

from onestop.domain.reports import (
    CUTOFF_DAY,
    Period,
    PeriodKind,
    ReportError,
    period,
    period_label,
)
from onestop.forms.report_files import Column, Report, Section, cell_text
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.services.reports import desk_report, desk_weekly_flow, export_bytes
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._export import write_file
from onestop.tui._format import parse_day
from onestop.tui.messages import ReportComputed
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.screens.export import ExportChoice, ExportModal, confirm_overwrite, exported
from onestop.tui.widgets.reports.week_chart import WeekChart

KINDS: tuple[tuple[str, str], ...] = (
    ("bieu06", "Biểu 06: kết quả giải quyết TTHC"),
    ("book", "Sổ theo dõi hồ sơ"),
    ("fees", "Phí, lệ phí đã thu"),
    ("evaluation", "Đánh giá của người dân"),
    ("indicators", "Chỉ số phục vụ (QĐ 766)"),
)
PERIOD_KINDS: tuple[tuple[str, str], ...] = (
    ("month", "Tháng"),
    ("quarter", "Quý"),
    ("half", "Sáu tháng"),
    ("year", "Năm"),
    ("month-cutoff", "Tháng, kỳ chốt số liệu (15–14)"),
    ("quarter-cutoff", "Quý, kỳ chốt số liệu (15–14)"),
    ("half-cutoff", "Sáu tháng, kỳ chốt số liệu (15–14)"),
    ("year-cutoff", "Năm, kỳ chốt số liệu (15–14)"),
    ("custom", "Tùy chọn"),
)
FORMATS: tuple[tuple[str, str], ...] = (
    ("Excel (.xlsx)", "xlsx"),
    ("PDF (.pdf)", "pdf"),
    ("CSV (.csv)", "csv"),
)
PAGE_ROWS = 200  # rows painted at once; ~0.3 s for a stock DataTable (STYLE pitfalls)


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    period: Period
    field: str | None
    label: str
    cutoff: bool = False


def standard_period(kind: str, anchor: date) -> tuple[date, date, str]:
    """The month, quarter, half-year or year containing ``anchor``, and its label as on the forms.

    ``<kind>-cutoff`` is the legal data cut-off period of NĐ 09/2019 Art. 12 (the 15th to the
    14th): from the 15th on, a day already belongs to the next month's period.
    """
    base, _, cut = kind.partition("-")
    cutoff = cut == "cutoff"
    day = anchor
    if cutoff and anchor.day >= CUTOFF_DAY:
        day = (anchor.replace(day=28) + timedelta(days=4)).replace(day=1)
    if base == PeriodKind.MONTH:
        n = day.month
    elif base == PeriodKind.QUARTER:
        n = (day.month - 1) // 3 + 1
    elif base == PeriodKind.HALF:
        n = (day.month - 1) // 6 + 1
    else:
        n = 1
    label = period_label(base, day.year, n)
    start, end = period(base, day.year, n, cutoff=cutoff)
    if cutoff:
        label = t("{label} (kỳ chốt số liệu)", label=label)
    return start, end, label


# Biểu 06's columns on screen: the form's number and a short heading of two lines (group,
# then what is counted). "(3)" … "(13)" alone was unreadable; the form's own headings do not
# fit 80 columns. The table scrolls sideways with the STT and field columns held in place, and
# the highlighted column's full heading is written under the table.
BIEU06_HEADINGS: dict[str, tuple[str, str]] = {
    "received": ("Nhận", "Tổng số"),
    "online": ("Nhận", "Trực tuyến"),
    "direct": ("Nhận", "Trực tiếp"),
    "carried": ("Nhận", "Kỳ trước"),
    "resolved": ("Đã GQ", "Tổng số"),
    "early": ("Đã GQ", "Trước hạn"),
    "on_time": ("Đã GQ", "Đúng hạn"),
    "late": ("Đã GQ", "Quá hạn"),
    "pending": ("Đang GQ", "Tổng số"),
    "within": ("Đang GQ", "Trong hạn"),
    "overdue": ("Đang GQ", "Quá hạn"),
}


def heading(c: Column) -> str:
    """A column's heading on screen: Biểu 06's in two lines ("(3) Nhận" over "Tổng số"),
    another numbered column by its number, the rest by their label."""
    short = BIEU06_HEADINGS.get(c.key) if c.number else None
    if short is not None:
        return f"{c.number} {t(short[0])}\n{t(short[1])}"
    return c.number if c.number and c.kind != "text" else c.label


class ReportsScreen(DeskScreen):
    BAR_TITLE = "Báo cáo"
    BINDINGS = [
        bind("escape", "back", "Quay lại", "Về màn hình trước", id="reports.back"),
        bind("f5", "compute", "Lập báo cáo", "Tính lại báo cáo với lựa chọn này", id="reports.run"),
        bind("f7", "previous_period", "Kỳ trước", "Lùi một kỳ báo cáo", id="reports.prev"),
        bind("f8", "next_period", "Kỳ sau", "Tiến một kỳ báo cáo", id="reports.next"),
        bind("f10", "export", "Xuất tệp", "Ghi báo cáo ra tệp xlsx, pdf, csv", id="reports.export"),
        bind(
            "ctrl+pagedown",
            "table_page(1)",
            "Trang sau",
            "Trang sau của bảng",
            id="reports.page_next",
            show=False,
        ),
        bind(
            "ctrl+pageup",
            "table_page(-1)",
            "Trang trước",
            "Trang trước của bảng",
            id="reports.page_prev",
            show=False,
        ),
    ]

    def __init__(self, kind: str = "bieu06") -> None:
        super().__init__()
        self.kind = kind
        self.period_kind = "month"
        self.start = self.end = date.min  # the current month, set when composed (app clock)
        self.label = ""
        self.wanted: ReportRequest | None = None
        self.report: Report | None = None
        self.section = 0
        self.page = 0

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        self.start, self.end, self.label = standard_period(
            self.period_kind, desk_app(self).now().date()
        )
        with Horizontal(id="rep-row1", classes="rep-row"):
            yield Select(
                [(t(label), key) for key, label in KINDS],
                value=self.kind,
                allow_blank=False,
                compact=True,
                id="rep-kind",
            )
            yield Select[str]([], prompt=t("Mọi lĩnh vực"), compact=True, id="rep-field")
        with Horizontal(id="rep-row2", classes="rep-row"):
            yield Select(
                [(t(label), key) for key, label in PERIOD_KINDS],
                value=self.period_kind,
                allow_blank=False,
                compact=True,
                id="rep-period",
            )
            yield Input(self.start.strftime("%d/%m/%Y"), compact=True, id="rep-from")
            yield Label("–", id="rep-dash")
            yield Input(self.end.strftime("%d/%m/%Y"), compact=True, id="rep-to")
            yield Label(self.label, id="rep-label", markup=False)
        yield Static("", id="rep-status", markup=False)
        with TabbedContent(id="rep-tabs"):
            with TabPane(t("Số liệu"), id="rep-tab-table"):
                yield Select[int]([], prompt=t("Bảng"), compact=True, id="rep-section")
                yield DataTable(id="rep-table", cursor_type="cell", zebra_stripes=True)
                yield Static("", id="rep-legend", markup=False)
            with TabPane(t("Theo tuần"), id="rep-tab-chart"):
                with VerticalScroll(id="rep-chart-scroll"):
                    yield WeekChart(id="rep-chart")
                    yield Static(
                        t(
                            "Mỗi dòng một tuần (từ thứ Hai). Tiếp nhận: hồ sơ nhận trong tuần, "
                            "không kể hồ sơ từ chối ngay khi tiếp nhận. Giải quyết: hồ sơ có "
                            "quyết định giải quyết trong tuần."
                        ),
                        id="rep-chart-note",
                        markup=False,
                    )
            with TabPane(t("Ghi chú"), id="rep-tab-notes"):
                with VerticalScroll():
                    yield Static("", id="rep-notes", markup=False)

    def on_mount(self) -> None:
        self.query_one("#rep-section", Select).display = False
        self._load_fields()
        self.query_one("#rep-kind", Select).focus()
        self.compute()

    # ------------------------------------------------------------------ choices

    @work(
        thread=True,
        exclusive=True,
        group="reports-fields",
        exit_on_error=False,
        description="Tải lĩnh vực",
    )
    def _load_fields(self) -> None:
        fields = self.desk.fields()
        self.app.call_from_thread(self._set_fields, fields)

    def _set_fields(self, fields: list[str]) -> None:
        select = self.query_one("#rep-field", Select)
        with self.prevent(Select.Changed):
            select.set_options([(f, f) for f in fields])

    @on(Select.Changed, "#rep-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.kind:
            self.kind = str(event.value)
            self.compute()

    @on(Select.Changed, "#rep-field")
    def _field_changed(self) -> None:
        if self.is_mounted:
            self.compute()

    @on(Select.Changed, "#rep-period")
    def _period_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.period_kind:
            return
        self.period_kind = str(event.value)
        if self.period_kind != "custom":
            self._set_period(*standard_period(self.period_kind, self.start))
            self.compute()

    @on(Input.Submitted, "#rep-from, #rep-to")
    def _dates_typed(self) -> None:
        try:
            start = parse_day(self.query_one("#rep-from", Input).value)
            end = parse_day(self.query_one("#rep-to", Input).value)
            Period(start, end)
        except (ValueError, ReportError) as e:
            self._status(str(e), error=True)
            return
        if (start, end) != (self.start, self.end):
            self.period_kind = "custom"
            with self.prevent(Select.Changed):
                self.query_one("#rep-period", Select).value = "custom"
            self._set_period(start, end, "")
        self.compute()

    def _set_period(self, start: date, end: date, label: str) -> None:
        self.start, self.end, self.label = start, end, label
        with self.prevent(Input.Changed):
            self.query_one("#rep-from", Input).value = start.strftime("%d/%m/%Y")
            self.query_one("#rep-to", Input).value = end.strftime("%d/%m/%Y")
        self.query_one("#rep-label", Label).update(label)

    def _shift(self, step: int) -> None:
        if self.period_kind == "custom":
            days = (self.end - self.start).days + 1
            self._set_period(
                self.start + timedelta(days=step * days), self.end + timedelta(days=step * days), ""
            )
        else:
            anchor = self.start - timedelta(days=1) if step < 0 else self.end + timedelta(days=1)
            self._set_period(*standard_period(self.period_kind, anchor))
        self.compute()

    def action_previous_period(self) -> None:
        self._shift(-1)

    def action_next_period(self) -> None:
        self._shift(1)

    # ------------------------------------------------------------------ computing

    def current_request(self) -> ReportRequest:
        field = self.query_one("#rep-field", Select).value
        return ReportRequest(
            kind=self.kind,
            period=Period(self.start, self.end),
            field=str(field) if field is not Select.NULL else None,
            label=self.label,
            cutoff=self.period_kind.endswith("-cutoff"),
        )

    def action_compute(self) -> None:
        self.compute()

    def compute(self) -> None:
        request = self.current_request()
        self.wanted = request
        self.query_one("#rep-table", DataTable).loading = True
        self._status(t("Đang lập báo cáo…"))
        self._compute(request)

    @work(
        thread=True,
        exclusive=True,
        group="reports-compute",
        exit_on_error=False,
        description="Lập báo cáo",
    )
    def _compute(self, request: ReportRequest) -> None:
        try:
            report = desk_report(
                self.desk,
                request.kind,
                request.period,
                field=request.field,
                period_label=request.label,
                cutoff=request.cutoff,
            )
            weeks = desk_weekly_flow(self.desk, request.period, field=request.field)
        except (ReportError, DeskError) as e:
            self.post_message(ReportComputed(request, None, [], str(e)))
            return
        self.post_message(ReportComputed(request, report, weeks))

    def on_report_computed(self, message: ReportComputed) -> None:
        if message.request != self.wanted:
            return  # the choices changed while this one was being computed
        table = self.query_one("#rep-table", DataTable)
        table.loading = False
        if message.report is None:
            self.report = None
            table.clear(columns=True)
            self._status(message.error, error=True)
            return
        report = self.report = message.report
        self.section = 0
        self.page = 0
        sections = self.query_one("#rep-section", Select)
        with self.prevent(Select.Changed):
            sections.set_options([(s.title, i) for i, s in enumerate(report.sections)])
            if report.sections:
                sections.value = 0
        sections.display = len(report.sections) > 1
        self._paint()
        self.query_one("#rep-chart", WeekChart).show(message.weeks)
        self.query_one("#rep-notes", Static).update("\n\n".join(report.notes))
        when = report.generated_at.strftime("%H:%M %d/%m/%Y")
        # The report's name is in the dropdown above: repeating it cut the line at 80 columns.
        self._status(
            t(
                "Kỳ {start} – {end} · lập lúc {when}",
                start=report.period.start.strftime("%d/%m/%Y"),
                end=report.period.end.strftime("%d/%m/%Y"),
                when=when,
            )
        )

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#rep-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    @on(Select.Changed, "#rep-section")
    def _section_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and event.value != self.section:
            self.section, self.page = event.value, 0
            self._paint()

    def _current_section(self) -> Section | None:
        if self.report is None or not self.report.sections:
            return None
        return self.report.sections[min(self.section, len(self.report.sections) - 1)]

    def _paint(self) -> None:
        table = self.query_one("#rep-table", DataTable)
        table.clear(columns=True)
        section = self._current_section()
        legend = self.query_one("#rep-legend", Static)
        if section is None:
            legend.update(t("Báo cáo không có bảng số liệu."))
            return
        headings = [heading(c) for c in section.columns]
        table.header_height = max(h.count("\n") + 1 for h in headings) if headings else 1
        # The leading text columns (STT, field) stay in place while the numbers scroll sideways.
        leading = 0
        for c in section.columns:
            if c.kind != "text" or leading == 2:
                break
            leading += 1
        table.fixed_columns = leading if len(section.columns) > 6 else 0
        for c, text in zip(section.columns, headings, strict=True):
            table.add_column(text, key=c.key)
        first = self.page * PAGE_ROWS
        for i, row in enumerate(section.rows[first : first + PAGE_ROWS], start=first):
            table.add_row(*(self._cell(c, row.get(c.key)) for c in section.columns), key=str(i))
        last_page = self.page >= self.pages(section) - 1
        if section.total is not None and last_page:
            table.add_row(
                *(self._cell(c, section.total.get(c.key), bold=True) for c in section.columns),
                key="total",
            )
        if not section.rows and section.total is None:
            legend.update(t("Không có số liệu trong kỳ này."))
        else:
            self._legend(0)

    @staticmethod
    def _cell(c: Column, value: Any, *, bold: bool = False) -> Text:
        text = Text(cell_text(c, value), style="bold" if bold else "")
        if c.kind not in ("text", "datetime"):
            text.justify = "right"
        return text

    @staticmethod
    def pages(section: Section) -> int:
        return max(1, -(-len(section.rows) // PAGE_ROWS))

    @on(DataTable.CellHighlighted, "#rep-table")
    def _cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._legend(event.coordinate.column)

    def _legend(self, column: int) -> None:
        section = self._current_section()
        legend = self.query_one("#rep-legend", Static)
        if section is None or not section.columns:
            return
        c = section.columns[min(column, len(section.columns) - 1)]
        words = " › ".join(x for x in (c.number, c.group, c.label) if x)
        pages = self.pages(section)
        if pages > 1:
            words += " · " + t(
                "trang {p}/{n} ({rows} dòng; Ctrl+PgDn/PgUp; tệp xuất có đủ)",
                p=self.page + 1,
                n=pages,
                rows=len(section.rows),
            )
        legend.update(words)

    def action_table_page(self, step: int) -> None:
        section = self._current_section()
        if section is None:
            return
        page = min(max(self.page + step, 0), self.pages(section) - 1)
        if page != self.page:
            self.page = page
            self._paint()

    # ------------------------------------------------------------------ export

    def action_export(self) -> None:
        report = self.report
        if report is None:
            self.notify(t("Chưa có báo cáo để xuất: F5 để lập."), severity="warning", markup=False)
            return

        def name_for(fmt: str) -> str:
            return f"{report.kind}-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.{fmt}"

        self.app.push_screen(
            ExportModal(
                t("Xuất báo cáo ra tệp"),
                [(label, fmt) for label, fmt in FORMATS],
                folder=desk_app(self).export_dir,
                name_for=name_for,
            ),
            partial(self._export_chosen, report),
        )

    def _export_chosen(self, report: Report, choice: ExportChoice | None) -> None:
        if choice is not None:
            confirm_overwrite(self, choice.path, lambda: self._export_now(report, choice))

    def _export_now(self, report: Report, choice: ExportChoice) -> None:
        self._export(report, choice)

    @work(
        thread=True,
        exclusive=True,
        group="reports-export",
        exit_on_error=False,
        description="Xuất báo cáo ra tệp",
    )
    def _export(self, report: Report, choice: ExportChoice) -> None:
        data = export_bytes(report, choice.value, self.desk)
        path = write_file(choice.path, data)
        self.app.call_from_thread(self._exported, path, choice.value == "pdf")

    def _exported(self, path: Path, printable: bool) -> None:
        # Said in the status line above the table: a toast at the bottom covered the total row.
        self._status(t("Đã ghi {path}", path=path))
        exported(self, path, printable=printable, toast=False)

    def action_back(self) -> None:
        self.dismiss()

    def palette_commands(self) -> list[PaletteCommand]:
        commands = [
            PaletteCommand(t("Báo cáo: lập lại"), self.action_compute, "F5"),
            PaletteCommand(t("Báo cáo: kỳ trước"), self.action_previous_period, "F7"),
            PaletteCommand(t("Báo cáo: kỳ sau"), self.action_next_period, "F8"),
            PaletteCommand(t("Báo cáo: xuất tệp xlsx, pdf, csv"), self.action_export, "F10"),
            PaletteCommand(t("Báo cáo: trang sau của bảng"), partial(self.action_table_page, 1)),
            PaletteCommand(t("Báo cáo: trang trước của bảng"), partial(self.action_table_page, -1)),
        ]
        tabs = self.query_one("#rep-tabs", TabbedContent)

        def show(tab: str) -> None:
            tabs.active = tab

        commands.append(
            PaletteCommand(
                t("Báo cáo: biểu đồ tiếp nhận, giải quyết theo tuần"), lambda: show("rep-tab-chart")
            )
        )
        for key, label in KINDS:
            commands.append(
                PaletteCommand(
                    t("Báo cáo: {label}", label=t(label)),
                    partial(self._choose_kind, key),
                )
            )
        return commands

    def _choose_kind(self, kind: str) -> None:
        self.query_one("#rep-kind", Select).value = kind
