"""First run: there is no desk database yet. Offer a demo desk, or explain ``onestop init``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from onestop.i18n import t
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings
from onestop.tui.messages import DemoCreated, DemoProgressed

if TYPE_CHECKING:
    pass

DEMO_DOSSIERS = 300


class FirstRunScreen(Screen[None]):
    BINDINGS = [
        bind(
            "f2",
            "create_demo",
            "Tạo quầy mẫu",
            "Tạo cơ sở dữ liệu mẫu để dùng thử",
            id="first.demo",
        ),
        bind("ctrl+q", "app.quit", "Thoát", "Thoát chương trình", id="first.quit"),
    ]

    def __init__(self, problem: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.problem = problem

    def compose(self) -> ComposeResult:
        path = desk_app(self).db_path
        can_create = not path.exists()
        with VerticalScroll(id="first-run"):
            yield Label(t("Chào mừng đến với quầy Một cửa"), id="first-title", markup=False)
            yield Static(
                self.problem or t("Chưa có cơ sở dữ liệu của quầy tại:\n  {path}", path=path),
                id="first-problem",
                markup=False,
            )
            yield Static(
                t(
                    "Quầy thật: cán bộ quản trị khởi tạo bằng lệnh\n"
                    "  onestop init --db {path} --unit-id <mã định danh đơn vị> "
                    "--commune-code <mã xã 5 số> --desk-no <số quầy>\n"
                    "rồi mở lại «onestop».",
                    path=path,
                ),
                id="first-init",
                markup=False,
            )
            if can_create:
                yield Static(
                    t(
                        "Dùng thử: tạo một quầy mẫu với {n} hồ sơ (như lệnh «onestop demo»).",
                        n=DEMO_DOSSIERS,
                    ),
                    markup=False,
                )
                with Horizontal(id="first-buttons"):
                    yield Button(
                        t("Tạo quầy mẫu (F2)"), id="first-demo", variant="primary", compact=True
                    )
                    yield Button(t("Thoát (Ctrl+Q)"), id="first-quit", compact=True)
                yield ProgressBar(total=DEMO_DOSSIERS, id="first-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#first-progress").display = False

    @on(Button.Pressed, "#first-demo")
    def action_create_demo(self) -> None:
        if desk_app(self).db_path.exists() or self.query_one("#first-progress").display:
            return
        self.query_one("#first-progress").display = True
        self.query_one("#first-demo", Button).disabled = True
        self._build()

    @on(Button.Pressed, "#first-quit")
    def _quit(self) -> None:
        self.app.exit()

    @work(
        thread=True,
        exclusive=True,
        group="first-run",
        exit_on_error=False,
        description="Tạo quầy mẫu",
    )
    def _build(self) -> None:
        from onestop.services.demo import build_demo

        app = desk_app(self)

        def progress(done: int, total: int) -> None:
            self.post_message(DemoProgressed(done, total))

        # Encrypted with one account per role, exactly as «onestop demo» makes it: the login
        # screen that follows lists the accounts and the demo password.
        build_demo(
            app.db_path,
            dossiers=DEMO_DOSSIERS,
            now=app.now(),
            progress=progress,
            chunk=25,
            encrypted=True,
        )
        self.post_message(DemoCreated(DEMO_DOSSIERS))

    def on_demo_progressed(self, message: DemoProgressed) -> None:
        self.query_one("#first-progress", ProgressBar).update(progress=message.done)

    def on_demo_created(self, message: DemoCreated) -> None:
        from onestop.tui.screens.login import LoginScreen

        desk_app(self).login_required = True
        self.app.switch_screen(LoginScreen())

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            desk_app(self).report_worker_error(event.worker)
