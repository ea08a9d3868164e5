"""Login at desk start, and the idle lock (issue 8).

``LoginScreen`` is the first screen of a desk that has a keyring (an encrypted desk): nothing of
the database can be read before it, because the database key is only unwrapped by a correct
password. ``LockScreen`` is a modal pushed over whatever the official was doing after
``idle_lock_minutes`` without a key press or click: the screens underneath stay as they were (a
half-typed intake form is not lost) and only the same account's password removes it. Both count
wrong passwords towards the account's lockout (``store/keyring.py``).

The password check runs scrypt (~0.1 s, 32 MiB), so it runs in a thread worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label, Static

from onestop.i18n import t
from onestop.services.base import DeskError
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings

if TYPE_CHECKING:
    from onestop.services.desk import Desk
    from onestop.tui.app import OnestopApp

IDLE_CHECK_SECONDS = 15.0


class LoggedIn(Message):
    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk


class LoginRefused(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class Unlocked(Message):
    pass


class HintLoaded(Message):
    def __init__(self, hint: str) -> None:
        super().__init__()
        self.hint = hint


def demo_hint(db_path: Path) -> str:
    """The demo accounts, shown only on a desk that ``onestop demo`` made."""
    from onestop.domain.roles import role_label
    from onestop.services import accounts
    from onestop.services.keys import DEMO_PASSPHRASE
    from onestop.store import keyring

    path = keyring.keyring_path(db_path)
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    if not keyring.is_demo(data):
        return ""
    names = ", ".join(
        f"{u} ({role_label(r.value).lower()})" for u, _name, r in accounts.DEMO_ACCOUNTS
    )
    return t("Quầy mẫu — tài khoản: {names}; mật khẩu: {pw}", names=names, pw=DEMO_PASSPHRASE)


class LoginScreen(Screen[None]):
    # Its own CSS (like the modals) so the shared app.tcss is not touched for one screen.
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login {
        width: 64; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    LoginScreen #login-title { text-style: bold; }
    LoginScreen #login-path { color: $text-muted; }
    LoginScreen Input { margin-bottom: 1; }
    /* A compact Input paints $surface, as the box does: the fields were invisible until
       focused (issue 17, first seen in the browser desk). */
    LoginScreen Input, LockScreen Input { background: $primary 20%; }
    LoginScreen Input:focus, LockScreen Input:focus { background: $primary 30%; }
    LoginScreen #login-error { color: $error; height: auto; }
    LoginScreen #login-hint { color: $text-muted; height: auto; margin-top: 1; }
    """

    BINDINGS = [
        bind("ctrl+q", "app.quit", "Thoát", "Thoát chương trình", id="login.quit"),
        bind(
            "enter",
            "enter",
            "Đăng nhập",
            "Sang ô mật khẩu, rồi đăng nhập",
            id="login.enter",
            show=False,
            priority=True,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Label(t("Đăng nhập quầy Một cửa"), id="login-title", markup=False)
            yield Static(str(desk_app(self).db_path), id="login-path", markup=False)
            yield Label(t("Tên đăng nhập"), markup=False)
            yield Input(id="login-user", compact=True)
            yield Label(t("Mật khẩu"), markup=False)
            yield Input(id="login-password", password=True, compact=True)
            yield Button(t("Đăng nhập (Enter)"), id="login-submit", variant="primary", compact=True)
            yield Static("", id="login-error", markup=False)
            yield Static("", id="login-hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#login-user", Input).focus()
        self.query_one("#login-hint", Static).display = False
        # After the first frame: the thread's imports would hold the GIL while the screen is
        # laid out and drawn, and the clerk waits for the screen, not for the libraries.
        self.call_after_refresh(self._prepare)

    @work(thread=True, group="login-prepare", exit_on_error=False, description="Chuẩn bị đăng nhập")
    def _prepare(self) -> None:
        # While the clerk types: load the desk's libraries (~0.4 s, so the screen did not wait
        # for them) and read whether this is a demo desk whose accounts may be shown.
        self.post_message(HintLoaded(demo_hint(desk_app(self).db_path)))

    def on_hint_loaded(self, message: HintLoaded) -> None:
        hint = self.query_one("#login-hint", Static)
        hint.update(message.hint)
        hint.display = bool(message.hint)

    def action_enter(self) -> None:
        # A priority binding, as on the intake screen: it runs while the key is dispatched, so a
        # password typed right after Enter lands in the password field, not the user name.
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "login-user":
            self.set_focus(self.query_one("#login-password", Input))  # now, not call_later
        elif isinstance(focused, Input):
            focused.call_later(self.submit)  # behind the keys still queued in the field
        else:
            raise SkipAction()

    @on(Button.Pressed, "#login-submit")
    def submit(self) -> None:
        user = self.query_one("#login-user", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        if not user:
            self._error(t("Chưa nhập tên đăng nhập."))
            self.query_one("#login-user", Input).focus()
            return
        if not password:
            self._error(t("Chưa nhập mật khẩu."))
            self.query_one("#login-password", Input).focus()
            return
        self._busy(True)
        self._login(user, password)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False, description="Đăng nhập")
    def _login(self, user: str, password: str) -> None:
        from onestop.services import accounts

        app = desk_app(self)
        try:
            desk = accounts.open_logged_in(app.db_path, user, password, clock=app.clock)
        except DeskError as e:
            self.post_message(LoginRefused(str(e)))
            return
        self.post_message(LoggedIn(desk))

    def on_login_refused(self, message: LoginRefused) -> None:
        self._busy(False)
        self._error(message.message)
        pw = self.query_one("#login-password", Input)
        pw.value = ""
        pw.focus()

    def on_logged_in(self, message: LoggedIn) -> None:
        desk_app(self).desk_opened(message.desk)

    def _error(self, text: str) -> None:
        self.query_one("#login-error", Static).update(text)

    def _busy(self, busy: bool) -> None:
        for w in self.query(Input):
            w.disabled = busy
        self.query_one("#login-submit", Button).disabled = busy
        if busy:
            self._error(t("Đang kiểm tra…"))


class LockScreen(ModalScreen[None]):
    """Idle lock: the same account's password; Esc does nothing, the screens below are kept."""

    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background 100%; }
    LockScreen > Vertical {
        width: 60; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    LockScreen #lock-title { text-style: bold; }
    LockScreen #lock-error { color: $error; height: auto; }
    LockScreen #lock-switch { color: $text-muted; }
    """

    BINDINGS = [
        bind("ctrl+q", "app.quit", "Thoát", "Thoát chương trình", id="lock.quit"),
    ]

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        translate_bindings(self)
        self.desk = desk

    def compose(self) -> ComposeResult:
        account = self.desk.account
        who = f"{account.display_name} ({account.username})" if account else self.desk.actor
        with Vertical():
            yield Label(t("Màn hình đã khóa"), id="lock-title", markup=False)
            yield Static(
                t("Quầy tự khóa khi không dùng. Nhập mật khẩu của {who} để tiếp tục.", who=who),
                markup=False,
            )
            yield Input(id="lock-password", password=True, compact=True)
            yield Static("", id="lock-error", markup=False)
            yield Static(
                t("Người khác dùng quầy: Ctrl+O (đổi người)."), id="lock-switch", markup=False
            )

    def on_mount(self) -> None:
        self.query_one("#lock-password", Input).focus()

    @on(Input.Submitted, "#lock-password")
    def submit(self) -> None:
        pw = self.query_one("#lock-password", Input)
        if not pw.value:
            return
        pw.disabled = True
        self.query_one("#lock-error", Static).update(t("Đang kiểm tra…"))
        self._check(pw.value)

    @work(thread=True, exclusive=True, group="lock", exit_on_error=False, description="Mở khóa")
    def _check(self, password: str) -> None:
        from onestop.services import accounts

        try:
            accounts.verify_password(self.desk, password)
        except DeskError as e:
            self.post_message(LoginRefused(str(e)))
            return
        self.post_message(Unlocked())

    def on_login_refused(self, message: LoginRefused) -> None:
        pw = self.query_one("#lock-password", Input)
        pw.disabled = False
        pw.value = ""
        pw.focus()
        self.query_one("#lock-error", Static).update(message.message)

    def on_unlocked(self, _: Unlocked) -> None:
        self.dismiss(None)


class PersonSwitched(Message):
    pass


class SwitchPersonModal(ModalScreen[bool]):
    """Ctrl+O: another official of this desk logs in over the open desk (issue 17).

    One laptop, three people: the clerk hands the dossier on screen to the specialist, who
    types their user name and password here instead of quitting and starting the desk again.
    The previous person's session ends when this succeeds (``OnestopApp._after_switch``: the
    signing key is forgotten); Esc leaves everything as it was, the lock screen included.
    """

    DEFAULT_CSS = """
    SwitchPersonModal { align: center middle; }
    SwitchPersonModal > Vertical {
        width: 64; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    SwitchPersonModal #switch-title { text-style: bold; }
    SwitchPersonModal #switch-now { color: $text-muted; }
    SwitchPersonModal #switch-error { color: $error; height: auto; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Hủy", "Không đổi người", id="switch.cancel"),
        bind(
            "enter",
            "enter",
            "Đăng nhập",
            "Sang ô mật khẩu, rồi đăng nhập",
            id="switch.enter",
            show=False,
            priority=True,
        ),
    ]

    def __init__(self, *, discard: bool = False) -> None:
        super().__init__()
        translate_bindings(self)
        self.discard = discard  # the person agreed to drop unsaved input (the app asked)

    def compose(self) -> ComposeResult:
        desk = desk_app(self).desk
        account = desk.account if desk is not None else None
        with Vertical():
            yield Label(t("Đổi người làm việc"), id="switch-title", markup=False)
            if account is not None:
                yield Static(
                    t(
                        "Đang dùng: {who}. Phiên của người này kết thúc khi người khác đăng nhập.",
                        who=account.display_name,
                    ),
                    id="switch-now",
                    markup=False,
                )
            yield Label(t("Tên đăng nhập"), markup=False)
            yield Input(id="switch-user", compact=True)
            yield Label(t("Mật khẩu"), markup=False)
            yield Input(id="switch-password", password=True, compact=True)
            yield Static("", id="switch-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#switch-user", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_enter(self) -> None:
        # As on the login screen: a priority binding, so a password typed right after Enter
        # lands in the password field.
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "switch-user":
            self.set_focus(self.query_one("#switch-password", Input))
        elif isinstance(focused, Input):
            focused.call_later(self.submit)
        else:
            raise SkipAction()

    def submit(self) -> None:
        user = self.query_one("#switch-user", Input).value.strip()
        password = self.query_one("#switch-password", Input).value
        if not user or not password:
            self._error(t("Nhập tên đăng nhập và mật khẩu của người nhận quầy."))
            self.query_one("#switch-user" if not user else "#switch-password", Input).focus()
            return
        for w in self.query(Input):
            w.disabled = True
        self._error(t("Đang kiểm tra…"))
        self._switch(user, password)

    @work(thread=True, exclusive=True, group="switch", exit_on_error=False, description="Đổi người")
    def _switch(self, user: str, password: str) -> None:
        from onestop.services import accounts

        desk = desk_app(self).desk
        if desk is None:
            return
        try:
            accounts.switch_person(desk, user, password)
        except DeskError as e:
            self.post_message(LoginRefused(str(e)))
            return
        self.post_message(PersonSwitched())

    def on_login_refused(self, message: LoginRefused) -> None:
        for w in self.query(Input):
            w.disabled = False
        pw = self.query_one("#switch-password", Input)
        pw.value = ""
        pw.focus()
        self._error(message.message)

    def on_person_switched(self, _: PersonSwitched) -> None:
        self.dismiss(True)

    def _error(self, text: str) -> None:
        self.query_one("#switch-error", Static).update(text)


class IdleLock:
    """Watches for key presses and clicks; locks the desk after the desk's idle setting.

    ``clock`` is monotonic seconds; tests replace it and call ``check()``.
    """

    def __init__(self, app: OnestopApp, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self.last = clock()
        self.locked = False
        self.minutes = 0
        self._timer: Timer | None = None

    def start(self, desk: Desk) -> None:
        """Begin watching once a logged-in desk is open (a desk without accounts never locks)."""
        self.minutes = desk.idle_lock_minutes() if desk.account is not None else 0
        self.touch()
        if self.minutes and self._timer is None:
            self._timer = self.app.set_interval(IDLE_CHECK_SECONDS, self.check)

    def touch(self) -> None:
        self.last = self.clock()

    def check(self) -> None:
        desk = self.app.desk
        if self.locked or not self.minutes or desk is None or desk.account is None:
            return
        if self.clock() - self.last >= self.minutes * 60:
            self.lock()

    def lock(self) -> None:
        desk = self.app.desk
        if self.locked or desk is None or desk.account is None:
            return
        self.locked = True
        # The unlocked signing key does not outlive the lock: signing asks for it again.
        self.app.keyring.forget()
        self.app.push_screen(LockScreen(desk), self._unlocked)

    def _unlocked(self, _: None) -> None:
        self.locked = False
        self.touch()


__all__ = ["IdleLock", "LockScreen", "LoginScreen", "SwitchPersonModal", "demo_hint"]
