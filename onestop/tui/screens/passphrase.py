"""Ask for the desk key's passphrase (masked) and unlock the key for this session.

The modal answers with the unlocked ``Signer`` (kept in memory by the app's ``SessionKey``,
never on disk) or ``None`` when the clerk gives up. A wrong passphrase keeps the modal open
with a plain message and an empty field. Unlocking runs scrypt (~0.1 s) in a thread worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from onestop.crypto.signer import Signer
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings

if TYPE_CHECKING:
    pass


class PassphraseModal(ModalScreen[Signer | None]):
    DEFAULT_CSS = """
    PassphraseModal { align: center middle; }
    PassphraseModal > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    PassphraseModal #pass-title { text-style: bold; }
    PassphraseModal #pass-why { color: $text-muted; margin-bottom: 1; }
    PassphraseModal #pass-input { width: 1fr; }
    PassphraseModal #pass-error { color: $error; text-style: bold; height: auto; }
    PassphraseModal #pass-error.-empty { display: none; }
    PassphraseModal Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    PassphraseModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Hủy", "Không mở khóa", id="passphrase.cancel"),
    ]

    def __init__(self, why: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.why = why or t("Cần khóa ký của quầy để ký mã QR biên nhận, phiếu in và đồng bộ.")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("Mật khẩu khóa ký của quầy"), id="pass-title", markup=False)
            yield Static(
                self.why + " " + t("Khóa chỉ được giữ trong bộ nhớ đến khi đóng quầy."),
                id="pass-why",
                markup=False,
            )
            yield Input(password=True, compact=True, id="pass-input")
            yield Static("", id="pass-error", classes="-empty", markup=False)
            with Horizontal():
                yield Button(t("Mở khóa (Enter)"), id="pass-ok", variant="primary", compact=True)
                yield Button(t("Hủy (Esc)"), id="pass-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#pass-input", Input).focus()

    @on(Input.Submitted, "#pass-input")
    @on(Button.Pressed, "#pass-ok")
    def _submit(self) -> None:
        field = self.query_one("#pass-input", Input)
        if not field.value:
            self._error(t("Chưa nhập mật khẩu."))
            return
        field.disabled = True
        self._unlock(field.value)

    @work(
        thread=True,
        exclusive=True,
        group="passphrase",
        exit_on_error=False,
        description="Mở khóa ký",
    )
    def _unlock(self, passphrase: str) -> None:
        desk = desk_app(self).desk
        assert desk is not None
        try:
            signer: Signer | None = desk_app(self).keyring.unlock(desk, passphrase)
            error = ""
        except DeskError as e:  # ReceiptError: wrong passphrase, no key, damaged file
            signer, error = None, str(e)
        self.app.call_from_thread(self._done, signer, error)

    def _done(self, signer: Signer | None, error: str) -> None:
        field = self.query_one("#pass-input", Input)
        field.disabled = False
        if signer is not None:
            self.dismiss(signer)
            return
        field.value = ""
        field.focus()
        self._error(error)

    def _error(self, text: str) -> None:
        label = self.query_one("#pass-error", Static)
        label.update(text)
        label.set_class(not text, "-empty")

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.query_one("#pass-input", Input).disabled = False
            desk_app(self).report_worker_error(event.worker)

    @on(Button.Pressed, "#pass-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
