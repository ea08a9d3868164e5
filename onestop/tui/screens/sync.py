"""The sync screen: is the province up to date, and if not, why and what to do.

Overview (server, events waiting, last success, last error in plain words with what to do,
clock skew, next automatic run), the recent runs with their bytes on the wire, what a refusal
holds back, and concurrent-action conflicts. A desk that is not enrolled gets the steps to
enroll instead. Everything is read from what ``services.sync`` records (``sync_status``) in a
thread worker; the screen refreshes whenever the app has fresh sync numbers.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from onestop.domain.fields import escape_display
from onestop.domain.roles import Permission
from onestop.i18n import t, tn
from onestop.services.sync.status import Conflict, SyncStatus, conflicts, sync_status
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._sync import explain, relative_vi
from onestop.tui.messages import SyncState, SyncStatusLoaded
from onestop.tui.screens._base import DeskScreen, PaletteCommand


def _dt(value: object) -> str:
    return value.strftime("%H:%M %d/%m/%Y") if isinstance(value, datetime) else "—"


def _short(kind: str) -> str | None:
    """A few words per kind of sync failure (services/sync/base.py ``FailureKind``)."""
    words = {
        "no_link": t("mất kết nối"),
        "link_dropped": t("mạng bị ngắt"),
        "server_down": t("máy chủ ngừng"),
        "server_error": t("máy chủ lỗi"),
        "login_page": t("trang đăng nhập mạng"),
        "bad_answer": t("trả lời không hợp lệ"),
        "refused_unsigned": t("lô bị báo hỏng"),
        "refused": t("bị từ chối"),
        "revoked": t("bị thu hồi"),
        "clock_skew": t("lệch đồng hồ"),
        "disk_full": t("ổ đĩa đầy"),
        "too_large": t("trả lời quá lớn"),
        "busy": t("đang bận"),
        "local": t("nhật ký thiếu"),
    }
    return words.get(kind)


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} kB".replace(".", ",")
    return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")


class SyncScreen(DeskScreen):
    BAR_TITLE = "Đồng bộ"
    BINDINGS = [
        bind("escape", "back", "Quay lại", "Về màn hình trước", id="sync.back"),
        bind("f5", "sync_now", "Đồng bộ ngay", "Gửi và nhận ngay bây giờ", id="sync.now"),
        bind("f6", "unlock", "Mở khóa ký", "Nhập mật khẩu khóa ký của quầy", id="sync.unlock"),
        bind("f1", "app.toggle_help", "Trợ giúp", "Hiện hoặc ẩn bảng phím", id="sync.help"),
        bind(
            "f7",
            "mark_seen",
            "Đã xem",
            "Đánh dấu xung đột đang chọn là đã xem",
            id="sync.conflict_seen",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: SyncStatus | None = None
        self.conflicts: list[Conflict] = []

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="sync-tabs"):
            with TabPane(t("Tổng quan"), id="sync-tab-overview"):
                yield Static(t("Đang đọc trạng thái đồng bộ…"), id="sync-overview")
            with TabPane(t("Các lần gần đây"), id="sync-tab-runs"):
                yield DataTable(id="sync-runs", cursor_type="row", zebra_stripes=True)
                yield Static("", id="sync-runs-empty", classes="sync-empty", markup=False)
            with TabPane(t("Bị giữ lại"), id="sync-tab-held"):
                yield DataTable(id="sync-held", cursor_type="row")
                yield Static("", id="sync-held-empty", classes="sync-empty", markup=False)
            with TabPane(t("Xung đột"), id="sync-tab-conflicts"):
                yield DataTable(id="sync-conflicts-table", cursor_type="row")
                yield Static("", id="sync-conflict-detail", markup=False)
                yield Static("", id="sync-conflicts", classes="sync-empty", markup=False)

    def on_mount(self) -> None:
        runs = self.query_one("#sync-runs", DataTable)
        for key, label in (
            ("at", "Lúc"),
            ("result", "Kết quả"),
            ("sent", "Gửi"),
            ("received", "Nhận"),
            ("up", "Byte gửi"),
            ("down", "Byte nhận"),
            ("seconds", "Giây"),
        ):
            runs.add_column(t(label), key=key)
        found = self.query_one("#sync-conflicts-table", DataTable)
        for key, label in (("at", "Phát hiện"), ("dossier", "Hồ sơ"), ("seen", "Đã xem")):
            found.add_column(t(label), key=key)
        held = self.query_one("#sync-held", DataTable)
        for key, label in (("since", "Từ lúc"), ("events", "Sự kiện"), ("reason", "Lý do")):
            held.add_column(t(label), key=key)
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def sync_state_changed(self, state: SyncState) -> None:
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(
        thread=True,
        exclusive=True,
        group="sync-screen",
        exit_on_error=False,
        description="Đọc trạng thái đồng bộ",
    )
    def _load(self) -> None:
        desk = self.desk
        self.post_message(SyncStatusLoaded(sync_status(desk), conflicts(desk)))

    # ------------------------------------------------------------------ painting

    def on_sync_status_loaded(self, message: SyncStatusLoaded) -> None:
        self.status = message.status
        self.query_one("#sync-overview", Static).update(self._overview(message.status))
        self._show_runs(message.status)
        self._show_held(message.status)
        self._show_conflicts(message.conflicts)

    def _overview(self, s: SyncStatus) -> Group:
        # Label/value rows in a grid, so a long value wraps under itself, not under the label.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=19, style="bold")
        grid.add_column(ratio=1)
        out = Text()
        runner = desk_app(self).sync
        now = desk_app(self).now()

        def row(label: str, value: str | Text, style: str = "") -> None:
            grid.add_row(label, value if isinstance(value, Text) else Text(value, style=style))

        row(t("Chờ gửi"), tn("{n} sự kiện", s.waiting), "bold" if s.waiting else "")
        shown = desk_app(self).sync_state
        if shown is not None and shown.files_waiting:
            row(
                t("Tệp chờ gửi"),
                t(
                    "{n} tệp số hóa, còn tối đa {mb} MB",
                    n=shown.files_waiting,
                    mb=f"{shown.files_bytes / 1_000_000:.1f}",
                ),
                "bold",
            )
        if not s.enrolled:
            out.append("\n")
            out.append(t("Quầy chưa đăng ký với máy chủ tỉnh nên chưa đồng bộ.") + "\n", "bold")
            out.append(
                t(
                    "Mọi việc ở quầy vẫn làm được khi không có mạng: các sự kiện được giữ lại "
                    "và sẽ gửi lên tỉnh sau khi đăng ký."
                )
                + "\n\n"
            )
            if not self.desk.allows(Permission.ENROLLMENT):
                # Show a person only what they may do: enrolling is the admin's.
                out.append(
                    t("Chỉ quản trị viên được đăng ký quầy với tỉnh: hãy báo quản trị viên của xã.")
                    + "\n"
                )
                return Group(grid, out)
            out.append(t("Cách đăng ký:") + "\n", "bold")
            out.append(t("1. Xin cán bộ tỉnh một mã đăng ký cho quầy này (dùng một lần).") + "\n")
            out.append(t("2. Trên máy này, chạy lệnh:") + "\n")
            out.append("   onestop enroll --server URL --code CODE\n", "bold")
            out.append(t("   (URL: địa chỉ máy chủ tỉnh; CODE: mã đăng ký).") + "\n")
            out.append(t("3. Mở lại quầy: việc đồng bộ sẽ tự chạy khi có mạng.") + "\n")
            return Group(grid, out)
        enrolled = f" ({t('đăng ký {d}', d=_dt(s.enrolled_at))})" if s.enrolled_at else ""
        row(t("Máy chủ tỉnh"), s.server_url + enrolled)
        if runner.running:
            state, style = t("Đang đồng bộ…"), "bold"
        elif runner.needs_passphrase:
            state, style = t("Chờ mật khẩu khóa ký (F6)"), "bold"
        elif s.last_error or runner.session_error:
            state, style = t("Lần gần nhất bị lỗi"), "bold red"
        elif s.waiting == 0 and s.last_ok_at is not None:
            state, style = t("Đã gửi hết"), "bold green"
        else:
            state, style = t("Chưa gửi hết"), "bold"
        row(t("Trạng thái"), state, style)
        when = (
            f"{relative_vi(s.last_ok_at, now)} ({_dt(s.last_ok_at)})"
            if s.last_ok_at
            else t("chưa bao giờ")
        )
        row(t("Thành công gần nhất"), when)
        row(t("Thử gần nhất"), _dt(s.last_attempt_at))
        error = runner.session_error or s.last_error
        if error and not runner.session_error and s.last_error_kind:
            # Recorded by services/sync: one sentence that already says what to do.
            row(t("Lỗi"), error, "red")
        elif error:
            e = explain(error)
            row(t("Lỗi"), e.what, "red")
            row(t("Nên làm"), e.todo)
        if s.skew_s is not None:
            minutes = round(s.skew_s / 60)
            if s.skew_flagged:
                row(
                    t("Đồng hồ"),
                    t(
                        "lệch {m} phút so với máy chủ: chỉnh lại ngày giờ của máy này, vì hạn "
                        "trả kết quả tính theo đồng hồ máy.",
                        m=minutes,
                    ),
                    "bold red",
                )
            else:
                row(t("Đồng hồ"), t("khớp máy chủ (lệch dưới 5 phút)"))
        if runner.next_at is not None and not runner.running:
            row(
                t("Tự động"),
                t(
                    "mỗi {s} giây khi có mạng; lần tới lúc {at}",
                    s=int(runner.interval),
                    at=runner.next_at.strftime("%H:%M:%S"),
                ),
            )
        if s.held:
            row(t("Bị giữ lại"), tn("{n} mục — xem thẻ «Bị giữ lại»", len(s.held)), "bold red")
        shown = desk_app(self).sync_state
        if shown is not None and shown.offline_message:
            row(t("Lâu chưa đồng bộ"), shown.offline_message, "bold red")
        return Group(grid)

    def _show_runs(self, s: SyncStatus) -> None:
        table = self.query_one("#sync-runs", DataTable)
        empty = self.query_one("#sync-runs-empty", Static)
        table.clear()
        for i, r in enumerate(s.runs):
            short = _short(r.error_kind)
            if r.ok:
                result = Text(t("xong"), style="green")
            else:
                result = Text(short or explain(r.error).short, "red")
            numbers = (
                str(r.sent_events),
                str(r.received_events),
                human_bytes(r.bytes_up),
                human_bytes(r.bytes_down),
                f"{r.duration_s:.1f}".replace(".", ","),
            )
            table.add_row(
                _dt(r.at), result, *(Text(n, justify="right") for n in numbers), key=str(i)
            )
        table.display = bool(s.runs)
        empty.display = not s.runs
        empty.update(t("Chưa có lần đồng bộ nào được ghi lại trên quầy này."))

    def _show_held(self, s: SyncStatus) -> None:
        table = self.query_one("#sync-held", DataTable)
        empty = self.query_one("#sync-held-empty", Static)
        table.clear()
        for i, h in enumerate(s.held):
            events = (
                t("số {a}–{b} ({n})", a=h.first_seq, b=h.last_seq, n=h.count)
                if h.count
                else t("dữ liệu nhận về")
            )
            table.add_row(_dt(h.since), events, Text(h.reason), key=str(i))
        table.display = bool(s.held)
        empty.display = not s.held
        empty.update(
            t(
                "Không có gì bị giữ lại: máy chủ tỉnh chưa từ chối sự kiện nào của quầy. "
                "Khi máy chủ từ chối hẳn (không phải lỗi mạng), các sự kiện chưa gửi được "
                "giữ lại ở đây kèm lý do, cho đến khi đồng bộ thành công."
            )
        )

    def _show_conflicts(self, found: list[Conflict]) -> None:
        self.conflicts = found
        table = self.query_one("#sync-conflicts-table", DataTable)
        row = table.cursor_row
        table.clear()
        for c in found:
            seen = Text(t("đã xem"), style="dim") if c.seen else Text(t("chưa xem"), "bold red")
            # Text, never str (a str cell is Rich markup); the code came from another desk.
            table.add_row(_dt(c.detected_at), Text(escape_display(c.dossier)), seen, key=c.id)
        if found:
            table.move_cursor(row=min(row, len(found) - 1))
        table.display = bool(found)
        self.query_one("#sync-conflict-detail", Static).display = bool(found)
        empty = self.query_one("#sync-conflicts", Static)
        empty.display = not found
        empty.update(
            t(
                "Không có xung đột nào: chưa lần nào hai quầy cùng thao tác trên một hồ sơ khi "
                "chưa đồng bộ với nhau. Khi có, cảnh báo hiện ở đây để cán bộ kiểm tra lại."
            )
        )
        self._show_conflict(table.cursor_row)
        unseen = sum(1 for c in found if not c.seen)
        tabs = self.query_one("#sync-tabs", TabbedContent)
        tab = tabs.get_tab("sync-tab-conflicts")
        tab.label = t("Xung đột ({n})", n=unseen) if unseen else t("Xung đột")
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#sync-conflicts-table")
    def _conflict_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_conflict(event.cursor_row)
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def _show_conflict(self, row: int) -> None:
        if 0 <= row < len(self.conflicts):
            c = self.conflicts[row]
            who = ", ".join(f"{actor} ({desk})" for desk, actor, _at in c.seen_by)
            text = c.description + (f"\n{t('Đã xem: {who}', who=who)}" if who else "")
            self.query_one("#sync-conflict-detail", Static).update(text)

    def _selected_conflict(self) -> Conflict | None:
        row = self.query_one("#sync-conflicts-table", DataTable).cursor_row
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def action_mark_seen(self) -> None:
        c = self._selected_conflict()
        if c is not None and not c.seen:
            self._mark_seen(c.id)

    @work(
        thread=True,
        exclusive=True,
        group="sync-screen-seen",
        exit_on_error=False,
        description="Đánh dấu xung đột đã xem",
    )
    def _mark_seen(self, conflict_id: str) -> None:
        self.desk.mark_conflict_seen(conflict_id)
        self.app.call_from_thread(self._seen_recorded)

    def _seen_recorded(self) -> None:
        desk_app(self).refresh_sync()
        desk_app(self).sync.local_write()  # the note is an event: the province gets it too
        self.reload()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unlock":
            keyring = desk_app(self).keyring
            return keyring.signer is None and keyring.desk_has_key(self.desk)
        if action == "mark_seen":
            if not self.is_mounted:
                return False
            active = self.query_one("#sync-tabs", TabbedContent).active
            selected = self._selected_conflict()
            return active == "sync-tab-conflicts" and selected is not None and not selected.seen
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_sync_now(self) -> None:
        desk_app(self).action_sync_now()

    def action_unlock(self) -> None:
        desk_app(self).action_unlock_key()

    def palette_commands(self) -> list[PaletteCommand]:
        tabs = self.query_one("#sync-tabs", TabbedContent)

        def show(tab: str) -> None:
            tabs.active = tab

        return [
            PaletteCommand(t("Đồng bộ: tổng quan"), lambda: show("sync-tab-overview")),
            PaletteCommand(t("Đồng bộ: các lần gần đây"), lambda: show("sync-tab-runs")),
            PaletteCommand(t("Đồng bộ: sự kiện bị giữ lại"), lambda: show("sync-tab-held")),
            PaletteCommand(
                t("Đồng bộ: xung đột giữa các quầy"), lambda: show("sync-tab-conflicts")
            ),
        ]
