"""What every desk screen shares: the desk bar, the footer, translated bindings, worker errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from onestop.i18n import t
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import translate_bindings
from onestop.tui.messages import SyncState
from onestop.tui.widgets.chrome.desk_bar import DeskBar

if TYPE_CHECKING:
    from onestop.services.desk import Desk


@dataclass(frozen=True)
class PaletteCommand:
    """One command-palette entry offered by the current screen (title already translated)."""

    title: str
    callback: Callable[[], object]
    help: str = ""


class DeskScreen(Screen[None]):
    """A full screen of the desk. Subclasses set ``BAR_TITLE`` and implement ``compose_body``."""

    BAR_TITLE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    @property
    def desk(self) -> Desk:
        desk = desk_app(self).desk
        assert desk is not None, "a desk screen is only shown once a desk is open"
        return desk

    def compose(self) -> ComposeResult:
        app = desk_app(self)
        yield DeskBar(t(self.BAR_TITLE), app.desk_label(), app.sync_state)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Commands this screen adds to the palette (the app adds the global ones)."""
        return ()

    def sync_state_changed(self, state: SyncState) -> None:
        """Fresh sync numbers arrived (the desk bar already shows them); the sync screen uses it."""

    def person_changed(self) -> None:
        """Another official took the desk (Ctrl+O): reload what depends on who acts."""

    def can_leave(self) -> bool:
        """False while leaving would throw away unsaved input (the app then asks first)."""
        return True

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # The one place worker failures surface (STYLE rule 14): never a traceback on screen.
        if event.state == WorkerState.ERROR:
            desk_app(self).report_worker_error(event.worker)
