"""The dashboard: today's counts on the left, the highlighted count's dossiers on the right."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist
from textual.worker import get_current_worker

from onestop.domain.lifecycle import DossierState
from onestop.domain.worklist import QUEUES_BY_KEY, Queue, queues_for
from onestop.i18n import t, tn
from onestop.services.glance import Dashboard
from onestop.store.queries import Counts, DossierFilter
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._filters import CATEGORIES, category_filter, count_of
from onestop.tui._format import weekday_vi
from onestop.tui.messages import CountsLoaded, PageLoaded, QueueLoaded, WorklistLoaded
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.widgets.dossier.table import DossierTable

PREVIEW_ROWS = 50  # the newest dossiers of a category; Enter opens the full, paged list
_LABEL_WIDTH = 21
WORK = "work:"  # option ids of the "Việc chờ tôi" queues (the others are CATEGORIES keys)


def count_prompt(label: str, count: int | None) -> Text:
    shown = "…" if count is None else str(count)
    width = max(5, len(shown))  # a million dossiers still fits on the line: the label gives way
    return Text.assemble(label.ljust(_LABEL_WIDTH + 5 - width), (shown.rjust(width), "bold"))


class DashboardScreen(DeskScreen):
    BAR_TITLE = "Bảng điều khiển"
    BINDINGS = [
        bind("f1", "app.toggle_help", "Trợ giúp", "Hiện hoặc ẩn bảng phím", id="dashboard.help"),
        bind(
            "f2", "app.open_intake", "Tiếp nhận mới", "Tiếp nhận hồ sơ mới", id="dashboard.intake"
        ),
        bind("f3", "app.open_list", "Tìm hồ sơ", "Danh sách, lọc, tìm hồ sơ", id="dashboard.list"),
        bind("f5", "refresh", "Làm mới", "Đếm lại các số liệu", id="dashboard.refresh"),
        bind(
            "f9",
            "app.open_settings",
            "Cài đặt",
            "Lịch làm việc, giờ làm việc, giao diện",
            id="dashboard.settings",
        ),
    ]

    def __init__(self, first: Dashboard | None = None) -> None:
        """``first``: numbers already read (the cold-start glance), shown without waiting."""
        super().__init__()
        self._first = first
        self.counts: Counts | None = first.counts if first is not None else None
        self._category = CATEGORIES[0][0]
        self._preview_filter: DossierFilter | None = None
        self._work: dict[str, int | None] = {}  # queue key -> count (None: not read yet)

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-main"):
            with Vertical(id="dash-left"):
                note = self._first.day_note if self._first is not None else ""
                yield Label(self._today(note), id="dash-today", markup=False)
                yield OptionList(*self._options(), id="dash-counts")
                yield Static(t("Enter: mở danh sách đầy đủ"), id="dash-hint", markup=False)
            with Vertical(id="dash-right"):
                yield Label("", id="preview-title", markup=False)
                yield DossierTable(compact=True, id="preview")
                yield Static("", id="preview-empty", markup=False)

    def _today(self, note: str = "") -> str:
        now = desk_app(self).now()
        text = t(
            "{weekday}, {day}", weekday=weekday_vi(now.date()), day=now.strftime("%d/%m/%Y %H:%M")
        )
        # The day-off note on a line of its own under the date: the column is 30 wide, and
        # after "Thứ Bảy, 21/11/2026 10:00 · " nothing of the note was left to read.
        return f"{text}\n{note[:1].upper()}{note[1:]}" if note else text

    def _count(self, key: str) -> int | None:
        return None if self.counts is None else count_of(self.counts, key)

    # ------------------------------------------------------------------ "Việc chờ tôi"

    def _queues(self) -> tuple[Queue, ...]:
        desk = desk_app(self).desk
        account = desk.account if desk is not None else None
        return queues_for(tuple(account.roles) if account is not None else None)

    def _options(self) -> list[Option | None]:
        """The person's queues first (what waits for *me*, issue 17), then the desk's counts.

        A desk without accounts has no queues: its dashboard is as before."""
        options: list[Option | None] = []
        queues = self._queues()
        if queues:
            options.append(Option(Text(t("VIỆC CHỜ TÔI"), style="bold"), disabled=True))
            for q in queues:
                prompt = count_prompt(t(q.label), self._work.get(q.key))
                options.append(Option(prompt, id=WORK + q.key))
            options.append(None)
        options += [
            Option(count_prompt(t(label), self._count(key)), id=key) for key, label in CATEGORIES
        ]
        return options

    def person_changed(self) -> None:
        self._work = {}
        options = self.query_one("#dash-counts", OptionList)
        options.set_options(self._options())
        options.highlighted = _first_enabled(options)
        self.reload()

    @work(
        thread=True,
        exclusive=True,
        group="dashboard-worklist",
        exit_on_error=False,
        description="Đếm việc chờ",
    )
    def _load_worklist(self) -> None:
        from onestop.services.worklist import worklist

        counts = worklist(self.desk)
        if not get_current_worker().is_cancelled:
            self.post_message(WorklistLoaded(counts))

    def on_worklist_loaded(self, message: WorklistLoaded) -> None:
        options = self.query_one("#dash-counts", OptionList)
        for wc in message.counts:
            self._work[wc.queue.key] = wc.count
            try:
                options.replace_option_prompt(
                    WORK + wc.queue.key, count_prompt(t(wc.queue.label), wc.count)
                )
            except OptionDoesNotExist:
                pass  # the person changed meanwhile; their own counts follow
        self._update_preview_title()

    @work(
        thread=True,
        exclusive=True,
        group="dashboard-preview",
        exit_on_error=False,
        description="Tải danh sách hồ sơ",
    )
    def _fetch_queue(self, key: str) -> None:
        from onestop.services.worklist import queue_dossiers

        rows = queue_dossiers(self.desk, key, limit=PREVIEW_ROWS)
        if not get_current_worker().is_cancelled:
            self.post_message(QueueLoaded(key, rows))

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        if self._category != WORK + message.key:
            return
        self._show_rows(message.rows)

    def on_mount(self) -> None:
        counts = self.query_one("#dash-counts", OptionList)
        counts.focus()
        if self._queues():
            counts.highlighted = _first_enabled(counts)
            self._category = str(counts.highlighted_option.id if counts.highlighted_option else "")
        if self._first is not None and desk_app(self).desk is None:
            self._update_preview_title()
            self.query_one("#preview", DossierTable).display = False
            self.query_one("#preview-empty", Static).update(t("Đang mở cơ sở dữ liệu quầy…"))

    def on_screen_resume(self) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def reload(self) -> None:
        if desk_app(self).desk is None:
            return  # drawn from the glance; the app calls reload() once the desk is open
        self._load_counts()
        if self._queues():
            self._load_worklist()
        self._load_preview(self._category)

    # ------------------------------------------------------------------ counts

    @work(
        thread=True,
        exclusive=True,
        group="dashboard-counts",
        exit_on_error=False,
        description="Đếm hồ sơ",
    )
    def _load_counts(self) -> None:
        # The calendar is read here, not in compose: the first look at a year builds its table
        # from the holidays package (~0.1 s), which must not delay the first paint.
        board = self.desk.dashboard()
        if not get_current_worker().is_cancelled:
            self.post_message(CountsLoaded(board))

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        board = message.dashboard
        self.counts = board.counts
        self.query_one("#dash-today", Label).update(self._today(board.day_note))
        options = self.query_one("#dash-counts", OptionList)
        for key, label in CATEGORIES:
            options.replace_option_prompt(key, count_prompt(t(label), self._count(key)))
        self._update_preview_title()

    # ------------------------------------------------------------------ preview

    @on(OptionList.OptionHighlighted, "#dash-counts")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id and event.option_id != self._category:
            self._load_preview(event.option_id)

    @on(OptionList.OptionSelected, "#dash-counts")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if (event.option_id or "").startswith(WORK):
            # A queue: its dossiers are in the preview, most urgent first; Enter there opens one.
            table = self.query_one("#preview", DossierTable)
            if table.display and table.row_count:
                table.focus()
            return
        desk_app(self).open_list(preset=event.option_id or "")

    @on(DataTable.RowSelected, "#preview")
    def _open_row(self, event: DataTable.RowSelected) -> None:
        desk_app(self).open_dossier(str(event.row_key.value))

    def _load_preview(self, category: str) -> None:
        self._category = category
        if category.startswith(WORK):
            self._preview_filter = None
            self._update_preview_title()
            self._fetch_queue(category.removeprefix(WORK))
            return
        self._preview_filter = category_filter(category, desk_app(self).now())
        self._update_preview_title()
        self._fetch_preview(self._preview_filter)

    @work(
        thread=True,
        exclusive=True,
        group="dashboard-preview",
        exit_on_error=False,
        description="Tải danh sách hồ sơ",
    )
    def _fetch_preview(self, flt: DossierFilter) -> None:
        page = self.desk.page(flt, limit=PREVIEW_ROWS)
        if not get_current_worker().is_cancelled:
            self.post_message(PageLoaded("preview", flt, None, page, 0.0))

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.target != "preview" or message.flt != self._preview_filter:
            return  # a newer category was highlighted meanwhile
        self._show_rows(message.page.rows)

    def _show_rows(self, rows: list[DossierState]) -> None:
        table = self.query_one("#preview", DossierTable)
        empty = self.query_one("#preview-empty", Static)
        table.show_states(
            rows,
            now=desk_app(self).now(),
            cal=self.desk.calendar,
            unit_eid=self.desk.identity.unit_eid,
        )
        table.display = bool(rows)
        empty.display = not rows
        if not rows:
            empty.update(t("Không có hồ sơ nào trong mục này."))

    def _update_preview_title(self) -> None:
        if self._category.startswith(WORK):
            key = self._category.removeprefix(WORK)
            queue = QUEUES_BY_KEY[key]
            n = self._work.get(key)
            title = t(queue.label)
            if n is not None:
                title = tn("{label}: {n} hồ sơ", n, label=title)
            self.query_one("#preview-title", Label).update(title)
            return
        label = t(dict(CATEGORIES)[self._category])
        title = label
        if self.counts is not None:
            n = count_of(self.counts, self._category)
            title = tn("{label}: {n} hồ sơ", n, label=label)
            if n > PREVIEW_ROWS:
                title += " " + t("({k} mới nhất)", k=PREVIEW_ROWS)
        self.query_one("#preview-title", Label).update(title)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand(
                t("Mở danh sách: {label}", label=t(label)),
                partial(desk_app(self).open_list, preset=key),
                t("Danh sách hồ sơ đã lọc sẵn"),
            )
            for key, label in CATEGORIES
        ]


def _first_enabled(options: OptionList) -> int | None:
    for i in range(options.option_count):
        if not options.get_option_at_index(i).disabled:
            return i
    return None
