"""The dossier list: search-as-you-type, three filters, keyset pages of at most 200 rows.

Search runs in an exclusive thread worker. Each keystroke supersedes the previous query: the
worker waits ``SEARCH_DELAY`` before touching SQLite and gives up if a newer keystroke
cancelled it meanwhile (thread workers cannot be interrupted, only asked, Textualize/textual
workers guide), and the result is painted only if it still answers the filter on screen (the
stale-result guard of Textualize/textual:examples/dictionary.py). On a million dossiers a
typing burst therefore costs one query, not one per key.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Key
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.worker import get_current_worker

from onestop.domain.lifecycle import Status, status_label
from onestop.i18n import t, tn
from onestop.store.queries import PAGE_SIZE, DossierFilter
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._filters import PRESETS, WINDOWS, build_filter
from onestop.tui.messages import PageLoaded
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.widgets.dossier.table import DossierTable


class DossierListScreen(DeskScreen):
    BAR_TITLE = "Danh sách hồ sơ"
    SEARCH_DELAY = 0.15  # seconds; a clerk types a key every ~0.2 s, a scanner much faster

    BINDINGS = [
        bind("escape", "back", "Quay lại", "Về màn hình trước", id="list.back"),
        bind("f3", "focus_search", "Tìm", "Về ô tìm kiếm", id="list.search"),
        bind("f7", "prev_page", "Trang trước", "Trang trước", id="list.prev"),
        bind("f8", "next_page", "Trang sau", "Trang sau", id="list.next"),
        bind("f2", "app.open_intake", "Tiếp nhận mới", "Tiếp nhận hồ sơ mới", id="list.intake"),
        bind("f5", "refresh", "Làm mới", "Tải lại trang này", id="list.refresh", show=False),
        bind("f6", "clear_filters", "Bỏ lọc", "Bỏ mọi bộ lọc", id="list.clear", show=False),
    ]

    def __init__(self, preset: str = "", search: str = "") -> None:
        super().__init__()
        self._preset_status, self._preset_window = PRESETS.get(preset, (None, None))
        self._initial_search = search
        self._cursors: list[int | None] = [None]  # keyset cursor of each page shown so far
        self._next_cursor: int | None = None
        self._wanted: tuple[DossierFilter, int | None] | None = None
        self._rows_shown = 0
        # How many dossiers the filter matches in all, counted apart from the page (the page
        # is at most PAGE_SIZE rows); None while the count for the current filter is running.
        self._total: int | None = None
        self._counted: DossierFilter | None = None
        self._short_names: dict[str, str] | None = None  # read once, in the first page's worker

    def compose_body(self) -> ComposeResult:
        yield Input(
            self._initial_search,
            placeholder=t("Tìm: mã, tên, CCCD, điện thoại, thủ tục (không dấu cũng được)"),
            id="list-search",
            compact=True,
        )
        with Horizontal(id="list-selects"):
            yield Select(
                [(status_label(s), s.value) for s in Status],
                prompt=t("Mọi trạng thái"),
                value=self._preset_status.value if self._preset_status else Select.NULL,
                id="list-status",
                compact=True,
            )
            yield Select[str]([], prompt=t("Mọi lĩnh vực"), id="list-field", compact=True)
            yield Select(
                [(t(label), key) for key, label in WINDOWS],
                prompt=t("Mọi thời hạn"),
                value=self._preset_window or Select.NULL,
                id="list-window",
                compact=True,
            )
        yield DossierTable(id="list-table")
        yield Static("", id="list-empty", markup=False)
        yield Label("", id="list-footer", markup=False)

    def on_mount(self) -> None:
        self._load_fields()
        self.query_one("#list-search", Input).focus()

    def on_screen_resume(self) -> None:
        # Back from a dossier: refresh the same page in place (its status may have changed).
        self._request(self._cursors[-1], delay=0.0)

    # ------------------------------------------------------------------ filter

    def current_filter(self) -> DossierFilter:
        status = self.query_one("#list-status", Select).value
        field = self.query_one("#list-field", Select).value
        window = self.query_one("#list-window", Select).value
        return build_filter(
            status=Status(str(status)) if status is not Select.NULL else None,
            field=str(field) if field is not Select.NULL else None,
            window=str(window) if window is not Select.NULL else None,
            search=self.query_one("#list-search", Input).value,
            now=desk_app(self).now(),
        )

    @on(Input.Changed, "#list-search")
    def _typed(self) -> None:
        self._first_page(delay=self.SEARCH_DELAY)

    @on(Select.Changed)
    def _filtered(self) -> None:
        if self.is_mounted:
            self._first_page(delay=0.0)

    @on(Input.Submitted, "#list-search")
    def _to_table(self) -> None:
        self.query_one("#list-table", DossierTable).focus()

    def on_key(self, event: Key) -> None:
        if event.key == "down" and self.focused is self.query_one("#list-search", Input):
            self.query_one("#list-table", DossierTable).focus()
            event.stop()

    def _first_page(self, *, delay: float) -> None:
        self._cursors = [None]
        self._request(None, delay=delay)

    def _request(self, after: int | None, *, delay: float) -> None:
        flt = self.current_filter()
        self._wanted = (flt, after)
        self._load_page(flt, after, delay)

    @work(
        thread=True,
        exclusive=True,
        group="list-page",
        exit_on_error=False,
        description="Tải danh sách hồ sơ",
    )
    def _load_page(self, flt: DossierFilter, after: int | None, delay: float) -> None:
        worker = get_current_worker()
        if delay:
            time.sleep(delay)
            if worker.is_cancelled:
                return  # a newer keystroke superseded this query before it ran
        started = time.perf_counter()
        if self._short_names is None:
            self._short_names = self.desk.procedure_short_names()
        page = self.desk.page(flt, after_id=after, limit=PAGE_SIZE)
        if not worker.is_cancelled:
            self.post_message(PageLoaded("list", flt, after, page, time.perf_counter() - started))

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.target != "list" or (message.flt, message.after) != self._wanted:
            return  # stale: the filter or page changed while this one was loading
        if message.flt != self.current_filter():
            return
        self.log.debug(f"list page in {message.seconds * 1000:.0f} ms")
        rows = message.page.rows
        self._next_cursor = message.page.next_cursor
        self._rows_shown = len(rows)
        if message.flt != self._counted:
            self._counted = message.flt
            self._total = None
            self._count(message.flt)
        table = self.query_one("#list-table", DossierTable)
        table.show_states(
            rows,
            now=desk_app(self).now(),
            cal=self.desk.calendar,
            unit_eid=self.desk.identity.unit_eid,
            short_names=self._short_names,
        )
        table.display = bool(rows)
        empty = self.query_one("#list-empty", Static)
        empty.display = not rows
        if not rows:
            query = self.query_one("#list-search", Input).value.strip()
            empty.update(
                t(
                    "Không tìm thấy hồ sơ nào khớp «{q}». Thử gõ ít chữ hơn hoặc bỏ bớt bộ lọc (F6).",
                    q=query,
                )
                if query
                else t("Không có hồ sơ nào khớp bộ lọc. Bỏ lọc: F6.")
            )
        self._update_footer()

    @work(
        thread=True,
        exclusive=True,
        group="list-count",
        exit_on_error=False,
        description="Đếm hồ sơ",
    )
    def _count(self, flt: DossierFilter) -> None:
        total = self.desk.count(flt)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._set_total, flt, total)

    def _set_total(self, flt: DossierFilter, total: int) -> None:
        if flt != self._counted:
            return  # the filter changed while this count ran
        self._total = total
        self._update_footer()

    def _update_footer(self) -> None:
        page_no = len(self._cursors)
        if self._total is None:
            text = t("Trang {p} · đang đếm hồ sơ…", p=page_no)
        else:
            pages = max(1, -(-self._total // PAGE_SIZE))
            text = tn("Trang {p}/{pages} · {n} hồ sơ", self._total, p=page_no, pages=pages)
        if self._next_cursor is not None:
            text += " · " + t("còn nữa: F8")
        if page_no > 1:
            text += " · " + t("trang trước: F7")
        self.query_one("#list-footer", Label).update(text)

    # ------------------------------------------------------------------ fields

    @work(
        thread=True,
        exclusive=True,
        group="list-fields",
        exit_on_error=False,
        description="Tải lĩnh vực",
    )
    def _load_fields(self) -> None:
        fields = self.desk.fields()
        self.app.call_from_thread(self._set_fields, fields)

    def _set_fields(self, fields: list[str]) -> None:
        select = self.query_one("#list-field", Select)
        with self.prevent(Select.Changed):
            select.set_options([(f, f) for f in fields])

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#list-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        desk_app(self).open_dossier(str(event.row_key.value))

    def action_back(self) -> None:
        self.dismiss()

    def action_focus_search(self) -> None:
        self.query_one("#list-search", Input).focus()

    def action_next_page(self) -> None:
        if self._next_cursor is None:
            self.notify(t("Đây là trang cuối."), markup=False)
            return
        self._cursors.append(self._next_cursor)
        self._request(self._next_cursor, delay=0.0)

    def action_prev_page(self) -> None:
        if len(self._cursors) <= 1:
            self.notify(t("Đây là trang đầu."), markup=False)
            return
        self._cursors.pop()
        self._request(self._cursors[-1], delay=0.0)

    def action_refresh(self) -> None:
        self._request(self._cursors[-1], delay=0.0)

    def action_clear_filters(self) -> None:
        with self.prevent(Select.Changed, Input.Changed):
            for select in self.query(Select):
                select.clear()
            self.query_one("#list-search", Input).value = ""
        self._first_page(delay=0.0)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand(t("Trang sau"), self.action_next_page),
            PaletteCommand(t("Trang trước"), self.action_prev_page),
            PaletteCommand(t("Bỏ mọi bộ lọc"), self.action_clear_filters),
            PaletteCommand(t("Làm mới danh sách"), self.action_refresh),
        ]
