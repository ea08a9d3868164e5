"""Settings and administration: working-day calendar, office hours, desk identity, appearance."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Select, Static, TabbedContent, TabPane

from onestop.domain.calendar import CalendarOverride, DayKind, OfficeHours
from onestop.domain.roles import Permission
from onestop.i18n import LANGUAGES, get_language, t
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._format import parse_day, role_label, weekday_vi
from onestop.tui.messages import CalendarLoaded, SettingSaved
from onestop.tui.screens._base import DeskScreen, PaletteCommand

KIND_LABELS = {DayKind.OFF: "Ngày nghỉ", DayKind.WORK: "Ngày làm bù"}
LANGUAGE_LABELS = {"vi": "Tiếng Việt", "en": "English"}
THEME_LABELS = {
    "onestop-light": "Một cửa, nền sáng",
    "onestop-dark": "Một cửa, nền tối",
    "ansi-light": "Màu của terminal, nền sáng (16 màu)",
    "ansi-dark": "Màu của terminal, nền tối (16 màu)",
}


class SettingsScreen(DeskScreen):
    BAR_TITLE = "Cài đặt"
    BINDINGS = [
        bind("escape", "back", "Quay lại", "Về màn hình trước", id="settings.back"),
        bind("f1", "app.toggle_help", "Trợ giúp", "Hiện hoặc ẩn bảng phím", id="settings.help"),
    ]

    def __init__(self, tab: str = "tab-calendar") -> None:
        super().__init__()
        self.initial_tab = tab
        self.overrides: list[CalendarOverride] = []

    def compose_body(self) -> ComposeResult:
        desk = self.desk
        # Show a person only what they may do: without the permission the calendar and the
        # office hours are read-only here (the service refuses the edits anyway).
        editable = desk.allows(Permission.CALENDAR)
        read_only = t("Chỉ quản trị viên được sửa lịch làm việc và giờ làm việc; ở đây chỉ xem.")
        with TabbedContent(initial=self.initial_tab, id="settings-tabs"):
            with TabPane(t("Lịch làm việc"), id="tab-calendar"):
                yield DataTable(id="cal-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="cal-empty", markup=False)
                if not editable:
                    yield Static(read_only, id="cal-readonly", markup=False)
                with Horizontal(classes="row") as row:
                    row.display = editable
                    yield Input(placeholder=t("ngày/tháng/năm"), id="cal-day", compact=True)
                    yield Select(
                        [(t(label), kind.value) for kind, label in KIND_LABELS.items()],
                        value=DayKind.OFF.value,
                        allow_blank=False,
                        id="cal-kind",
                        compact=True,
                    )
                    yield Input(
                        placeholder=t("Ghi chú, ví dụ: Nghỉ bù Quốc khánh"),
                        id="cal-note",
                        compact=True,
                    )
                with Horizontal(classes="buttons") as buttons:
                    buttons.display = editable
                    yield Button(
                        t("Thêm / sửa ngày"),
                        id="cal-add",
                        compact=True,
                        variant="primary",
                        disabled=not editable,
                    )
                    yield Button(
                        t("Xóa ngày đang chọn"),
                        id="cal-remove",
                        compact=True,
                        disabled=not editable,
                    )
                yield Static("", id="cal-message", classes="field-error -empty", markup=False)
            with TabPane(t("Giờ làm việc"), id="tab-hours"):
                with Vertical():
                    yield Label(
                        t("Các buổi làm việc (ví dụ 07:00-11:30,13:30-17:00)"), markup=False
                    )
                    yield Input(
                        desk.calendar.hours.format(),
                        id="hours-sessions",
                        compact=True,
                        disabled=not editable,
                    )
                    yield Label(t("Giờ chốt tiếp nhận trong ngày"), markup=False)
                    yield Input(
                        desk.calendar.hours.same_day_cutoff.strftime("%H:%M"),
                        id="hours-cutoff",
                        compact=True,
                        disabled=not editable,
                    )
                    if editable:
                        yield Button(
                            t("Lưu giờ làm việc"), id="hours-save", compact=True, variant="primary"
                        )
                    else:
                        yield Static(read_only, id="hours-readonly", markup=False)
                    yield Static("", id="hours-message", classes="field-error -empty", markup=False)
            with TabPane(t("Thông tin quầy"), id="tab-identity"):
                yield Static(self._identity_text(), id="identity", markup=False)
            with TabPane(t("Giao diện"), id="tab-look"):
                with Vertical():
                    yield Label(t("Màu giao diện"), markup=False)
                    themes = [(t(label), name) for name, label in THEME_LABELS.items()]
                    current = self.app.theme if self.app.theme in THEME_LABELS else Select.NULL
                    yield Select(
                        themes, value=current, id="look-theme", compact=True, prompt=self.app.theme
                    )
                    yield Label(t("Ngôn ngữ"), markup=False)
                    yield Select(
                        [(LANGUAGE_LABELS[lang], lang) for lang in LANGUAGES],
                        value=get_language(),
                        allow_blank=False,
                        id="look-language",
                        compact=True,
                    )

    def _identity_text(self) -> str:
        ident = self.desk.identity
        rows = [
            (t("Mã định danh đơn vị"), ident.unit_eid),
            (t("Xã"), f"{ident.commune_name} ({ident.commune_code})"),
            (t("Tỉnh"), f"{ident.province_name} ({ident.province_code})"),
            (t("Quầy"), t("{name} (số {n})", name=ident.desk_name, n=ident.desk_no)),
            (t("Mã quầy trong nhật ký"), ident.desk_id),
            (t("Cán bộ"), f"{self.desk.actor} ({role_label(self.desk.role)})"),
            (t("Tệp dữ liệu"), str(self.desk.store.path)),
        ]
        lines = [f"{label}: {value}" for label, value in rows]
        lines.append("")
        lines.append(t("Danh tính quầy do tỉnh cấp khi khởi tạo; không sửa ở đây."))
        return "\n".join(lines)

    def on_mount(self) -> None:
        table = self.query_one("#cal-table", DataTable)
        table.add_column(t("Ngày"), key="day", width=10)
        table.add_column(t("Thứ"), key="weekday", width=9)
        table.add_column(t("Loại"), key="kind", width=12)
        table.add_column(t("Ghi chú"), key="note")
        self._load_calendar()

    def action_back(self) -> None:
        self.dismiss()

    # ------------------------------------------------------------------ calendar

    @work(
        thread=True, exclusive=True, group="settings", exit_on_error=False, description="Tải lịch"
    )
    def _load_calendar(self) -> None:
        self.post_message(CalendarLoaded(self.desk.calendar_overrides()))

    def on_calendar_loaded(self, message: CalendarLoaded) -> None:
        self.overrides = message.overrides
        table = self.query_one("#cal-table", DataTable)
        table.clear()
        for o in message.overrides:
            cells = (o.day.strftime("%d/%m/%Y"), weekday_vi(o.day), t(KIND_LABELS[o.kind]), o.note)
            table.add_row(*(Text(c) for c in cells), key=o.day.isoformat())
        empty = self.query_one("#cal-empty", Static)
        empty.display = not message.overrides
        table.display = bool(message.overrides)
        empty.update(
            t("Chưa có ngày điều chỉnh nào: lịch theo ngày lễ, Tết và ngày làm bù của Nhà nước.")
        )

    def _say(self, widget_id: str, text: str, *, ok: bool) -> None:
        label = self.query_one(widget_id, Static)
        label.update(text)
        label.set_class(not text, "-empty")
        label.set_class(ok, "-ok")

    @on(Button.Pressed, "#cal-add")
    def _add_day(self) -> None:
        try:
            day = parse_day(self.query_one("#cal-day", Input).value)
        except ValueError as e:
            self._say("#cal-message", str(e), ok=False)
            self.query_one("#cal-day", Input).focus()
            return
        kind = DayKind(str(self.query_one("#cal-kind", Select).value))
        note = self.query_one("#cal-note", Input).value
        self._save_day(day, kind, note)

    @on(Input.Submitted, "#cal-day, #cal-note")
    def _add_on_enter(self) -> None:
        self._add_day()

    @on(Button.Pressed, "#cal-remove")
    def _remove_day(self) -> None:
        table = self.query_one("#cal-table", DataTable)
        if not self.overrides or table.row_count == 0:
            self._say("#cal-message", t("Chưa chọn ngày nào để xóa."), ok=False)
            return
        day = self.overrides[table.cursor_row].day
        self._save_day(day, None, "")

    @work(
        thread=True, exclusive=True, group="settings", exit_on_error=False, description="Lưu lịch"
    )
    def _save_day(self, day: date, kind: DayKind | None, note: str) -> None:
        self.desk.set_calendar_day(day, kind, note)
        what = (
            t("Đã xóa điều chỉnh ngày {d}.", d=day.strftime("%d/%m/%Y"))
            if kind is None
            else t("Đã lưu {d}: {kind}.", d=day.strftime("%d/%m/%Y"), kind=t(KIND_LABELS[kind]))
        )
        self.post_message(SettingSaved("calendar", what))
        self.post_message(CalendarLoaded(self.desk.calendar_overrides()))

    # ------------------------------------------------------------------ office hours

    @on(Button.Pressed, "#hours-save")
    def _save_hours(self) -> None:
        try:
            hours = OfficeHours.parse(
                self.query_one("#hours-sessions", Input).value,
                self.query_one("#hours-cutoff", Input).value,
            )
        except ValueError as e:
            self._say("#hours-message", str(e), ok=False)
            return
        self._store_hours(hours)

    @work(
        thread=True,
        exclusive=True,
        group="settings",
        exit_on_error=False,
        description="Lưu giờ làm việc",
    )
    def _store_hours(self, hours: OfficeHours) -> None:
        self.desk.set_office_hours(hours)
        self.post_message(SettingSaved("hours", t("Đã lưu giờ làm việc: {h}.", h=hours.format())))

    def on_setting_saved(self, message: SettingSaved) -> None:
        target = "#hours-message" if message.section == "hours" else "#cal-message"
        self._say(target, message.text, ok=True)

    # ------------------------------------------------------------------ appearance

    @on(Select.Changed, "#look-theme")
    def _theme(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.app.theme:
            desk_app(self).choose_theme(str(event.value))

    @on(Select.Changed, "#look-language")
    def _language(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != get_language():
            desk_app(self).choose_language(str(event.value))

    def palette_commands(self) -> list[PaletteCommand]:
        tabs = self.query_one("#settings-tabs", TabbedContent)

        def show(tab: str) -> None:
            tabs.active = tab

        return [
            PaletteCommand(t("Cài đặt: lịch làm việc"), lambda: show("tab-calendar")),
            PaletteCommand(t("Cài đặt: giờ làm việc"), lambda: show("tab-hours")),
            PaletteCommand(t("Cài đặt: thông tin quầy"), lambda: show("tab-identity")),
            PaletteCommand(t("Cài đặt: giao diện và ngôn ngữ"), lambda: show("tab-look")),
        ]
