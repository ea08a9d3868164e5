"""The desk application: ``OnestopApp``, ``make_app`` (used by the CLI and the tests) and
``run_desk`` (what ``onestop desk`` calls).

The App receives its collaborators (the open ``Desk``, the clock, who is at the desk) in its
constructor and builds nothing itself (STYLE rule 4). Every screen reaches the database only
through the desk's services, in thread workers.

Cold start: importing SQLAlchemy/SQLModel/pydantic costs ~0.4 s on a field laptop, more than
the rest of the start together. So nothing this module imports at the top loads them; a plain
desk's dashboard is drawn from ``services.glance`` (standard-library sqlite3), the desk itself
opens in a thread right after, and a key pressed meanwhile waits for it (``_after_opening``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from onestop.config import Settings, default_export_dir
from onestop.domain.clock import vn_now
from onestop.i18n import get_language, set_language, t
from onestop.paths import has_keyring
from onestop.services.base import DeskError, NotInitialisedError
from onestop.tui._backup import DailyBackup
from onestop.tui._bindings import bind, translated
from onestop.tui._session_key import SessionKey
from onestop.tui._sync import DeskSync
from onestop.tui._textual_i18n import DeskCommandPalette
from onestop.tui._typing import BACKSPACE_BINDING, burst_backspace
from onestop.tui.commands import DeskCommands
from onestop.tui.messages import (
    DeskOpened,
    DossierActed,
    DossierReceived,
    DossierRefused,
    SyncRan,
    SyncState,
    SyncStateLoaded,
)
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.screens.login import IdleLock, LoginScreen
from onestop.tui.widgets.chrome.desk_bar import DeskBar

# Imported where first used, not here (issue 19 §3: the login screen must show as fast as a
# Textual hello-world's first screen): the dashboard, the first-run screen and the modals
# (with the action forms and the report tables behind them) are not on an encrypted desk's
# first screen, and ``services.glance`` (with the query and lifecycle modules) only draws a
# plain desk's. ``tests/cli/test_start_imports.py`` keeps them out of this module's imports.
if TYPE_CHECKING:
    from onestop.services.desk import Desk
    from onestop.services.glance import Glance

DEFAULT_THEME = "onestop-light"
# The role as the top bar says it after the name of who is logged in (domain/roles.py labels
# in full are too long for an 80-column bar that also carries the sync state).
_ROLE_SHORT = {
    "clerk": "Một cửa",
    "specialist": "Chuyên viên",
    "leader": "Lãnh đạo",
    "admin": "Quản trị",
}
SYNC_REFRESH_SECONDS = 30.0
BASE_DEPTH = 2  # Textual's blank default screen, then the dashboard
# App actions that open a screen on the desk's data (refused on the first-run / login screens).
_NEEDS_DESK = ("open_intake", "open_list", "open_settings", "open_sync", "open_reports")

THEMES = (
    Theme(
        name="onestop-light",
        primary="#0B5394",
        secondary="#38761D",
        accent="#B45F06",
        warning="#9C6500",
        error="#B3261E",
        success="#2E7D32",
        foreground="#1B1B1B",
        background="#F4F4EF",
        surface="#FFFFFF",
        panel="#E3E8EF",
        dark=False,
    ),
    Theme(
        name="onestop-dark",
        primary="#5B9BD5",
        secondary="#93C47D",
        accent="#F6B26B",
        warning="#F1C232",
        error="#E06666",
        success="#93C47D",
        foreground="#E8E8E8",
        background="#12161C",
        surface="#1B2129",
        panel="#26303C",
        dark=True,
    ),
)


def theme_for_terminal(name: str, *, dark: bool, color_system: str | None) -> str:
    """In a 16-colour terminal (Linux console, old PuTTY) use the terminal's own palette
    (Textual's ansi themes): truecolor squeezed into 16 colours loses the due-date colours."""
    if color_system in ("standard", "windows") and not name.startswith("ansi"):
        return "ansi-dark" if dark else "ansi-light"
    return name


class OnestopApp(App[None]):
    """The clerk's desk. ``desk`` is ``None`` only on the first-run screen."""

    CSS_PATH = "app.tcss"
    TITLE = "onestop"
    COMMANDS = {DeskCommands}
    BINDINGS = [
        bind(
            "ctrl+q",
            "quit",
            "Thoát",
            "Thoát chương trình",
            id="app.quit",
            show=False,
            priority=True,
        ),
        bind(
            "ctrl+p",
            "command_palette",
            "Lệnh",
            "Mở bảng lệnh (gõ để tìm)",
            id="app.palette",
            show=False,
            priority=True,
        ),
        # Tab moves the focus while the key is dispatched (priority), not when the focused
        # field gets to it: a scanner types "038190012345<Tab>Nguyễn…" faster than a field
        # handles its keys, and Textual forwards each key to whatever has the focus *then*;
        # Tab handled by the field's own queue left the name in the CCCD field (issue 17).
        BACKSPACE_BINDING,  # an IME's backspaces in key order (tui/_typing.py, issue 18)
        bind(
            "tab",
            "burst_focus(1)",
            "Ô tiếp theo",
            "Sang ô tiếp theo",
            id="app.tab",
            show=False,
            priority=True,
        ),
        bind(
            "shift+tab",
            "burst_focus(-1)",
            "Ô trước",
            "Về ô trước",
            id="app.shift-tab",
            show=False,
            priority=True,
        ),
        bind(
            "ctrl+o",
            "switch_person",
            "Đổi người",
            "Người khác làm việc trên quầy này (kết thúc phiên của người đang dùng)",
            id="app.switch-person",
            show=False,
            priority=True,
        ),
        bind(
            "ctrl+l",
            "lock",
            "Khóa",
            "Khóa màn hình (cần mật khẩu để mở lại)",
            id="app.lock",
            show=False,
            priority=True,
        ),
        bind("f1", "toggle_help", "Trợ giúp", "Hiện hoặc ẩn bảng phím", id="app.help", show=False),
        bind(
            "f2", "open_intake", "Tiếp nhận mới", "Tiếp nhận hồ sơ mới", id="app.intake", show=False
        ),
        bind(
            "f3", "open_list", "Tìm hồ sơ", "Danh sách, lọc, tìm hồ sơ", id="app.list", show=False
        ),
        bind(
            "f9",
            "open_settings",
            "Cài đặt",
            "Lịch, giờ làm việc, giao diện",
            id="app.settings",
            show=False,
        ),
        bind(
            "f12",
            "sync_now",
            "Đồng bộ ngay",
            "Gửi và nhận với tỉnh ngay",
            id="app.sync_now",
            show=False,
        ),
        bind(
            "ctrl+y", "open_sync", "Đồng bộ", "Màn hình đồng bộ với tỉnh", id="app.sync", show=False
        ),
        bind(
            "ctrl+b",
            "open_reports",
            "Báo cáo",
            "Biểu 06, sổ theo dõi, phí, đánh giá",
            id="app.reports",
            show=False,
        ),
    ]

    def __init__(
        self,
        desk: Desk | None,
        *,
        db_path: Path,
        clock: Callable[[], datetime],
        official: str = "",
        role: str = "clerk",
        theme_name: str = DEFAULT_THEME,
        problem: str = "",
        remember_choices: bool = True,
        login_required: bool = False,
        sync_interval: float = 60.0,
        export_dir: Path | None = None,
        glance: Glance | None = None,
    ) -> None:
        super().__init__()
        for theme in THEMES:
            self.register_theme(theme)
        self._preset_theme(theme_name)
        self.keyring = SessionKey()  # the unlocked desk key: memory only, for this session
        self.sync = DeskSync(self, sync_interval)
        self.backup = DailyBackup(self)
        self.export_dir = export_dir or default_export_dir()
        self.desk = desk
        self.login_required = login_required  # an encrypted desk: LoginScreen opens it
        # A plain desk drawn from a glance while the desk opens in a thread (``desk`` is None).
        self.glance = glance if desk is None else None
        self._after_opening: Callable[[], object] | None = None
        self._open_failed = False
        self.idle_lock = IdleLock(self)
        self.db_path = db_path
        self.clock = clock
        self.official = official
        self.role = role
        self.theme_name = theme_name
        self.problem = problem
        self.remember_choices = remember_choices
        self.sync_state: SyncState | None = None
        self._source_bindings = self._bindings.copy()
        self._bindings = translated(self._source_bindings)

    # ------------------------------------------------------------------ start-up

    def _preset_theme(self, name: str) -> None:
        """Take the theme before Textual first parses the CSS. Set on mount, it makes Textual
        parse every stylesheet twice more and restyle every widget: ~0.1–0.2 s of the login
        screen's start on a 2-core laptop (issue 19 §3). What ``App._watch_theme`` would do,
        minus that reparse (there is no CSS parsed yet); ``apply_theme`` on mount then finds the
        theme already set, unless a 16-colour terminal switches it to an ANSI one."""
        if name not in self.available_themes:
            return  # apply_theme on mount says so and falls back to the default
        self.set_reactive(App.theme, name)
        dark = self.current_theme.dark
        classes = {c: False for c in self.classes if c.startswith("-theme-")}
        classes |= {f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark}
        self.update_classes(classes, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    def on_mount(self) -> None:
        self.apply_theme(self.theme_name)
        # The dashboard sits on Textual's blank default screen rather than replacing it, so it
        # can itself be replaced (first run -> desk, language switch) like any pushed screen.
        if self.desk is None and self.glance is not None:
            from onestop.tui.screens.dashboard import DashboardScreen

            self.push_screen(DashboardScreen(self.glance.dashboard))
            self._open_desk()
        elif self.desk is None and self.login_required:
            self.push_screen(LoginScreen())
        elif self.desk is None:
            from onestop.tui.screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen(self.problem))
        else:
            from onestop.tui.screens.dashboard import DashboardScreen

            self.push_screen(DashboardScreen())
            self._start_sync_watch()
            self.idle_lock.start(self.desk)

    def on_unmount(self) -> None:
        # Quitting ends the official's session (the desk has no log-out but this): the unlocked
        # signing key goes with it, however the app was left (Ctrl+Q, the palette, a crash).
        self.keyring.forget()

    def apply_theme(self, name: str) -> None:
        if name not in self.available_themes:
            self.notify(
                t("Không có giao diện «{name}»; dùng giao diện mặc định.", name=name),
                severity="warning",
                markup=False,
            )
            name = DEFAULT_THEME
        if not self.is_headless:  # a headless console always looks like 16 colours
            chosen = self.get_theme(name)
            dark = chosen is not None and chosen.dark
            name = theme_for_terminal(name, dark=dark, color_system=self.console.color_system)
        self.theme = name

    @property
    def opening(self) -> bool:
        """The dashboard shows a glance and the desk is still opening in the background."""
        return self.desk is None and self.glance is not None and not self._open_failed

    @work(
        thread=True,
        exclusive=True,
        group="open-desk",
        exit_on_error=False,
        description="Mở cơ sở dữ liệu quầy",
    )
    def _open_desk(self) -> None:
        from onestop.services.desk import Desk

        desk = Desk.open(self.db_path, clock=self.clock, actor=self.official, role=self.role)
        self.post_message(DeskOpened(desk))

    def on_desk_opened(self, message: DeskOpened) -> None:
        from onestop.tui.screens.dashboard import DashboardScreen

        self.desk, self.glance = message.desk, None
        self._start_sync_watch()
        self.idle_lock.start(message.desk)
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.reload()
        then, self._after_opening = self._after_opening, None
        if then is not None:
            self.clear_notifications()  # the "opening…" notice has done its job
            then()

    def desk_opened(self, desk: Desk) -> None:
        """The first-run or login screen opened a desk: show the dashboard on it."""
        from onestop.tui.screens.dashboard import DashboardScreen

        self.desk = desk
        self.switch_screen(DashboardScreen())
        self._start_sync_watch()
        self.idle_lock.start(desk)

    async def on_event(self, event: events.Event) -> None:
        # Every key press and click reaches the App first: that is the idle lock's activity.
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown):
            self.idle_lock.touch()
        await super().on_event(event)

    def get_key_display(self, binding: Binding) -> str:
        # "F2", "Esc": how the keys are printed on the keyboard a clerk looks at.
        key = binding.key.split(",")[0]
        if key.startswith("f") and key[1:].isdigit():
            return key.upper()
        if key == "escape":
            return "Esc"
        if key.startswith("ctrl+") and len(key) == 6:
            return "^" + key[-1].upper()  # the footer is 80 columns; F1 spells it "Ctrl+"
        if key == "enter":
            return "Enter"
        if key == "delete":
            return "Del"
        return super().get_key_display(binding)

    # ------------------------------------------------------------------ clock and labels

    def now(self) -> datetime:
        return self.clock()

    def desk_label(self) -> str:
        if self.desk is not None:
            ident = self.desk.identity
            account = self.desk.account
            if account is not None:
                # Who is logged in, first: on a laptop three officials share, the bar says
                # whose name the next action is recorded under (issue 17).
                # Short role words: at 80 columns the sync state takes half the bar.
                roles = ", ".join(t(_ROLE_SHORT.get(r, r)) for r in account.roles)
                return f"{account.display_name} · {roles} · {ident.desk_name}"
        elif self.glance is not None:
            ident = self.glance.identity
        else:
            return ""
        return f"{ident.desk_name} · {ident.commune_name}"

    # ------------------------------------------------------------------ sync state

    def _start_sync_watch(self) -> None:
        self.refresh_sync()
        self.set_interval(SYNC_REFRESH_SECONDS, self.refresh_sync)
        self.sync.start()
        self.backup.start()

    @work(
        thread=True,
        exclusive=True,
        group="sync-state",
        exit_on_error=False,
        description="Đọc trạng thái đồng bộ",
    )
    def refresh_sync(self) -> None:
        desk = self.desk
        if desk is None:
            return
        self.post_message(SyncStateLoaded(self.sync.read_state(desk)))

    def on_sync_state_loaded(self, message: SyncStateLoaded) -> None:
        self.sync_state = message.state
        self.sync.state_shown(message.state)
        for screen in self.screen_stack:
            for bar in screen.query(DeskBar):
                bar.show_sync(message.state)
            if isinstance(screen, DeskScreen):
                screen.sync_state_changed(message.state)

    def on_sync_ran(self, message: SyncRan) -> None:
        self.sync.finished(message)

    def on_dossier_received(self, _: DossierReceived) -> None:
        self.refresh_sync()
        self.sync.local_write()

    def on_dossier_refused(self, _: DossierRefused) -> None:
        self.refresh_sync()
        self.sync.local_write()

    def on_dossier_acted(self, _: DossierActed) -> None:
        self.refresh_sync()
        self.sync.local_write()

    def action_sync_now(self) -> None:
        self.sync.run_now()

    def action_open_sync(self) -> None:
        from onestop.tui.screens.sync import SyncScreen

        self.goto(SyncScreen())

    def action_open_reports(self) -> None:
        from onestop.tui.screens.reports import ReportsScreen

        self.goto(ReportsScreen())

    def action_unlock_key(self) -> None:
        from onestop.tui.screens.passphrase import PassphraseModal

        def unlocked(signer: object) -> None:
            if signer is not None:
                self.sync.unlocked()

        self.push_screen(PassphraseModal(), unlocked)

    # ------------------------------------------------------------------ errors

    @on(Worker.StateChanged)
    def _app_worker_failed(self, event: Worker.StateChanged) -> None:
        # The app's own workers (sync state, navigation, preferences); screens report theirs.
        if event.state == WorkerState.ERROR:
            if event.worker.group == "open-desk":
                # The glance's numbers stay on screen; nothing can be opened without the desk.
                self._open_failed, self._after_opening = True, None
                self.refresh_bindings()
            self.report_worker_error(event.worker)

    def report_worker_error(self, worker: Worker[Any]) -> None:
        """The one way a failed background job reaches the clerk: a notice, never a traceback."""
        error = worker.error
        self.log.error(f"worker {worker.name} failed: {error!r}")
        if isinstance(error, DeskError):
            message = str(error)
        else:
            message = t(
                "Lỗi khi {what}: {error}",
                what=t(worker.description or worker.name).lower(),
                error=str(error) or type(error).__name__,
            )
        self.notify(message, title=t("Có lỗi"), severity="error", timeout=10, markup=False)

    # ------------------------------------------------------------------ navigation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.idle_lock.locked and action not in ("quit", "switch_person", "burst_focus"):
            return False  # the lock screen is on top: no palette, no F-keys past it
        if action in ("switch_person", "lock"):
            return self.desk is not None and self.desk.account is not None
        if action == "open_intake" and not self.may_receive():
            return False  # F2 is not offered to a role that may not receive (issue 17)
        if self.desk is None and action == "sync_now":
            return False
        if self.desk is None and not self.opening and action in _NEEDS_DESK:
            return False  # first run / login: nothing to open yet (``goto`` waits while opening)
        return True

    # ------------------------------------------------------------------ people and quitting

    def action_burst_focus(self, direction: int) -> None:
        focused = self.focused
        if focused is not None and "tab" in focused._bindings.key_to_bindings:
            raise SkipAction()  # a widget that types its own Tab keeps it
        if direction > 0:
            self.screen.focus_next()
        else:
            self.screen.focus_previous()

    def action_burst_backspace(self) -> None:
        burst_backspace(self.focused)

    def action_lock(self) -> None:
        self.idle_lock.lock()

    def action_switch_person(self) -> None:
        """Ctrl+O: another official of this desk takes the laptop (issue 17)."""
        from onestop.tui.screens.login import SwitchPersonModal
        from onestop.tui.screens.modals import ConfirmModal

        if isinstance(self.screen, SwitchPersonModal):
            return
        question = self.unsaved_work()
        if question is not None and not self.idle_lock.locked:
            self.push_screen(
                ConfirmModal(t("Đổi người? {what}", what=question)), self._switch_confirmed
            )
            return
        self.push_screen(SwitchPersonModal(), self._person_switched)

    def _switch_confirmed(self, yes: bool | None) -> None:
        if yes:
            from onestop.tui.screens.login import SwitchPersonModal

            self.push_screen(SwitchPersonModal(discard=True), self._person_switched)

    def _person_switched(self, switched: bool | None) -> None:
        if switched:
            self._after_switch()

    @work(exclusive=True, group="navigation", exit_on_error=False, description="Đổi người")
    async def _after_switch(self) -> None:
        # The previous person's session ends here: their unlocked signing key goes, and what
        # they left open (a lock screen, menus, forms, a half-typed intake they agreed to drop)
        # with it. The dossier or list on screen stays: the next person usually takes the
        # dossier up where the previous one handed it over; anything else returns to the
        # dashboard, whose worklist shows what waits for the newcomer.
        from onestop.tui.screens.dashboard import DashboardScreen
        from onestop.tui.screens.dossier_detail import DossierDetailScreen
        from onestop.tui.screens.dossier_list import DossierListScreen

        self.keyring.forget()
        self.idle_lock.locked = False
        self.idle_lock.touch()
        while len(self.screen_stack) > BASE_DEPTH and not isinstance(
            self.screen, DossierDetailScreen | DossierListScreen | DashboardScreen
        ):
            await self.pop_screen()
        label = self.desk_label()
        for screen in self.screen_stack:
            for bar in screen.query(DeskBar):
                bar.set_desk_label(label)
            if isinstance(screen, DeskScreen):
                screen.person_changed()
        self.refresh_bindings()  # the keys follow the new person's roles (F2 for a clerk)
        who = self.desk.account.display_name if self.desk and self.desk.account else ""
        self.notify(t("Đã chuyển sang {who}.", who=who), timeout=4, markup=False)

    def may_receive(self) -> bool:
        """Whether the person at the desk may receive dossiers (a desk without accounts may)."""
        desk = self.desk
        if desk is None or desk.account is None:
            return True
        from onestop.domain.events import EventKind
        from onestop.domain.roles import may

        return may(desk.account.roles, EventKind.RECEIVE)

    def unsaved_work(self) -> str | None:
        """What quitting or switching person would throw away, as the question asks it."""
        for screen in self.screen_stack:
            if isinstance(screen, DeskScreen) and not screen.can_leave():
                return t("Hồ sơ đang nhập chưa lưu sẽ mất.")
            has_unsaved = getattr(screen, "has_unsaved", None)  # the action forms
            if callable(has_unsaved) and has_unsaved():
                return t("Thao tác đang nhập chưa lưu sẽ mất.")
        return None

    async def action_quit(self) -> None:
        """Ctrl+Q and the palette's "Thoát": at once, unless something typed is not saved."""
        question = self.unsaved_work()
        if question is None or getattr(self.screen, "quit_question", False):
            self.exit()  # nothing to lose, or Ctrl+Q pressed again on the question itself
            return
        from onestop.tui.screens.modals import ConfirmModal

        modal = ConfirmModal(t("Thoát chương trình? {what}", what=question), quit_question=True)
        self.push_screen(modal, self._quit_confirmed)

    def _quit_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.exit()

    def action_toggle_help(self) -> None:
        from onestop.tui.screens.modals import HelpModal

        screen = self.screen
        if isinstance(screen, HelpModal):
            screen.dismiss(None)
            return
        rows: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for _node, binding, _enabled, _tooltip in screen.active_bindings.values():
            if binding.id is None or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            key = "Ctrl+" + key[1:] if key.startswith("^") else key
            rows.append((key, binding.description, binding.tooltip))
        title = t(screen.BAR_TITLE) if isinstance(screen, DeskScreen) else ""
        self.push_screen(HelpModal(rows, title))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(
                DeskCommandPalette(placeholder=t("Gõ để tìm lệnh…"), id="--command-palette")
            )

    def action_open_intake(self) -> None:
        from onestop.tui.screens.intake import IntakeScreen

        self.goto(IntakeScreen())

    def action_open_list(self) -> None:
        self.open_list()

    def action_open_settings(self) -> None:
        from onestop.tui.screens.settings import SettingsScreen

        self.goto(SettingsScreen())

    def action_open_dashboard(self) -> None:
        self.goto(None)

    def open_list(self, preset: str = "") -> None:
        from onestop.tui.screens.dossier_list import DossierListScreen

        self.goto(DossierListScreen(preset))

    def open_dossier(self, code: str) -> None:
        from onestop.tui.screens.dossier_detail import DossierDetailScreen

        if self.opening:
            self._after_opening = partial(self.open_dossier, code)
            return
        self.push_screen(DossierDetailScreen(code))

    def goto(self, screen: Screen[Any] | None) -> None:
        """Go back to the dashboard and open ``screen`` on it: the stack never grows unbounded."""
        if self.opening:  # a key pressed in the first half-second: go there once the desk is open
            self._after_opening = partial(self.goto, screen)
            self.notify(t("Đang mở cơ sở dữ liệu quầy…"), timeout=2, markup=False)
            return
        top = self.screen
        if isinstance(top, DeskScreen) and not top.can_leave():
            from onestop.tui.screens.modals import ConfirmModal

            question = t("Bỏ hồ sơ đang nhập? Những gì đã gõ sẽ mất.")
            self.push_screen(ConfirmModal(question), partial(self._goto_confirmed, screen))
            return
        self._goto(screen)

    def _goto_confirmed(self, screen: Screen[Any] | None, yes: bool | None) -> None:
        if yes:
            self._goto(screen)

    @work(exclusive=True, group="navigation", exit_on_error=False, description="Chuyển màn hình")
    async def _goto(self, screen: Screen[Any] | None) -> None:
        while len(self.screen_stack) > BASE_DEPTH:
            await self.pop_screen()
        if screen is not None:
            await self.push_screen(screen)

    # ------------------------------------------------------------------ palette

    def global_commands(self) -> Iterable[PaletteCommand]:
        if self.desk is None:
            yield PaletteCommand(t("Thoát"), self.exit)
            return
        if self.may_receive():
            yield PaletteCommand(t("Tiếp nhận hồ sơ mới"), self.action_open_intake, "F2")
        yield PaletteCommand(t("Danh sách và tìm kiếm hồ sơ"), self.action_open_list, "F3")
        yield PaletteCommand(t("Bảng điều khiển"), self.action_open_dashboard)
        yield PaletteCommand(
            t("Cài đặt: lịch, giờ làm việc, giao diện"), self.action_open_settings, "F9"
        )
        yield PaletteCommand(t("Hiện hoặc ẩn bảng phím"), self.action_toggle_help, "F1")
        yield PaletteCommand(t("Đọc lại trạng thái đồng bộ"), self.refresh_sync)
        yield PaletteCommand(t("Đồng bộ ngay với tỉnh"), self.action_sync_now, "F12")
        yield PaletteCommand(t("Màn hình đồng bộ với tỉnh"), self.action_open_sync, "Ctrl+Y")
        yield PaletteCommand(
            t("Báo cáo: Biểu 06, sổ theo dõi, phí"), self.action_open_reports, "Ctrl+B"
        )
        if self.keyring.signer is None:
            yield PaletteCommand(t("Mở khóa ký (nhập mật khẩu)"), self.action_unlock_key)
        if self.desk.account is not None:
            yield PaletteCommand(t("Khóa màn hình"), self.idle_lock.lock, "Ctrl+L")
            yield PaletteCommand(
                t("Đổi người làm việc (đăng nhập tài khoản khác)"),
                self.action_switch_person,
                "Ctrl+O",
            )
        for name, label in (
            ("onestop-light", t("Giao diện sáng")),
            ("onestop-dark", t("Giao diện tối")),
        ):
            yield PaletteCommand(label, partial(self.choose_theme, name))
        other = "en" if get_language() == "vi" else "vi"
        yield PaletteCommand(
            t("Chuyển sang tiếng Anh") if other == "en" else t("Chuyển sang tiếng Việt"),
            partial(self.choose_language, other),
        )
        yield PaletteCommand(t("Thoát"), partial(self.call_later, self.action_quit), "Ctrl+Q")

    # ------------------------------------------------------------------ preferences

    def choose_theme(self, name: str) -> None:
        self.apply_theme(name)
        self._remember("ui_theme", self.theme)

    def choose_language(self, lang: str) -> None:
        set_language(lang)
        self._bindings = translated(self._source_bindings)
        self._remember("ui_language", lang)
        self._rebuild_screens()

    @work(exclusive=True, group="navigation", exit_on_error=False, description="Đổi ngôn ngữ")
    async def _rebuild_screens(self) -> None:
        # Labels are translated when a screen is built, so rebuild the stack from the dashboard.
        from onestop.tui.screens.dashboard import DashboardScreen
        from onestop.tui.screens.settings import SettingsScreen

        while len(self.screen_stack) > BASE_DEPTH:
            await self.pop_screen()
        await self.switch_screen(DashboardScreen())
        await self.push_screen(SettingsScreen(tab="tab-look"))

    def _remember(self, key: str, value: str) -> None:
        if self.remember_choices and self.desk is not None:
            self._save_setting(key, value)

    @work(thread=True, group="preferences", exit_on_error=False, description="Lưu lựa chọn")
    def _save_setting(self, key: str, value: str) -> None:
        assert self.desk is not None
        self.desk.set_setting(key, value)


def make_app(
    desk: Desk | None,
    *,
    db_path: Path | None = None,
    clock: Callable[[], datetime] | None = None,
    official: str = "",
    role: str = "clerk",
    theme: str | None = None,
    problem: str = "",
    remember_choices: bool = True,
    login_required: bool = False,
    sync_interval: float = 60.0,
    export_dir: Path | None = None,
    glance: Glance | None = None,
) -> OnestopApp:
    """Build the app around an open desk, or ``None`` for the first-run or login screen (or,
    with ``glance``, a plain desk that opens in the background).

    ``theme=None`` uses the theme last chosen at this desk, else the default.
    """
    if desk is not None:
        path = db_path or desk.store.path
        now = clock or desk.clock
        theme = theme or desk.setting("ui_theme") or DEFAULT_THEME
        official = official or desk.actor
    elif db_path is not None:
        saved = glance.theme if glance is not None else ""
        path, now, theme = db_path, clock or vn_now, theme or saved or DEFAULT_THEME
    else:
        raise ValueError("make_app needs a desk or the path where one should be created")
    return OnestopApp(
        desk,
        db_path=path,
        clock=now,
        official=official,
        role=role,
        theme_name=theme,
        problem=problem,
        remember_choices=remember_choices,
        login_required=login_required,
        sync_interval=sync_interval,
        export_dir=export_dir,
        glance=glance,
    )


def run_desk(
    settings: Settings,
    *,
    now: Callable[[], datetime],
    web: bool = False,
    port: int = 8765,
) -> None:
    """Open the desk on ``settings.db`` in this terminal, or serve it on localhost with ``web``."""
    if web:
        _serve_web(settings, port)
        return
    explicit = settings.explicit
    set_language(settings.language)
    desk: Desk | None = None
    problem = ""
    login_required = settings.db.exists() and has_keyring(settings.db)
    first: Glance | None = None
    if not login_required:
        from onestop.services.glance import glance

        first = glance(settings.db, now())
    if first is not None and "language" not in explicit and first.language in ("vi", "en"):
        if first.language != get_language():
            set_language(first.language)
            first = glance(settings.db, now()) or first  # the day's note in that language
    elif first is None and settings.db.exists() and not login_required:
        # The glance declined (schema to migrate, not set up...): open the desk the long way.
        from onestop.services.desk import Desk

        try:
            desk = Desk.open(settings.db, clock=now, actor=settings.official, role=settings.role)
        except NotInitialisedError as e:
            problem = str(e)
        if desk is not None and "language" not in explicit:
            saved = desk.setting("ui_language")
            if saved in ("vi", "en"):
                set_language(saved)
    theme = settings.theme if "theme" in explicit else None
    app = make_app(
        desk,
        db_path=settings.db,
        clock=now,
        official=settings.official,
        role=settings.role,
        theme=theme,
        problem=problem,
        login_required=login_required,
        sync_interval=settings.sync_interval,
        export_dir=settings.export_dir,
        glance=first,
    )
    try:
        app.run()
    finally:
        if app.desk is not None:
            app.desk.close()


def _serve_web(settings: Settings, port: int) -> None:
    # Its own module (the page, the font, textual-serve's server): tui/web_serve.py.
    from onestop.tui.web_serve import serve_desk

    set_language(settings.language)  # the page's own words (each tab's desk sets its own)
    serve_desk(settings.db, port=port)
