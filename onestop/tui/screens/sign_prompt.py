"""Ask the legal signer of a slip for their token PIN / key passphrase and sign it (PAdES).

Shown only when the person at the desk IS the slip's legal signer and their key is on this
desk (``services.signing.offer_to_sign``); everyone else's slips print "(Chưa ký số)" without a
prompt, to be signed later with ``onestop sign-pdf``. The modal names the signer and title, and
for a token its label and what the token says about its PIN (tries running low, final try,
locked), read by a probe in a child process while a loading indicator runs. The PIN is typed masked, handed to the signing call once and never kept: the field is
emptied after every try. Signing (pyHanko, ~0.5 s; a token login) runs in a thread worker with
a loading indicator. A wrong PIN/passphrase keeps the modal open with the reason (and the
tries-left sentence) and writes nothing; Esc prints the slip unsigned.

The modal answers with the signed PDF bytes, or ``None`` for "print it unsigned".
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from onestop.crypto import token as tok
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.services.signing import Official, SignOffer, sign_offer
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings

#: Signs the prepared slip with the PIN/passphrase given; returns the checked signed bytes or
#: raises ``DeskError`` (``SigningError``) with a Vietnamese reason, having changed nothing.
SignWith = Callable[[str], bytes]


class SignSlipModal(ModalScreen[bytes | None]):
    DEFAULT_CSS = """
    SignSlipModal { align: center middle; }
    SignSlipModal > Vertical {
        width: 72; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    SignSlipModal #sign-title { text-style: bold; }
    SignSlipModal #sign-who { margin-top: 1; }
    SignSlipModal #sign-token { color: $text-muted; }
    SignSlipModal #sign-token.-empty { display: none; }
    SignSlipModal #sign-input { width: 1fr; margin-top: 1; }
    SignSlipModal #sign-error { color: $error; text-style: bold; height: auto; }
    SignSlipModal #sign-error.-empty { display: none; }
    SignSlipModal #sign-busy { height: 1; }
    SignSlipModal Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    SignSlipModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("escape", "unsigned", "In không ký", "In phiếu chưa ký số", id="sign.unsigned"),
    ]

    def __init__(
        self,
        official: Official,
        sign: SignWith,
        *,
        slip_title: str = "",
        offer: SignOffer | None = None,
    ) -> None:
        """``offer``: what the token said, when the caller already probed it; otherwise a token
        is probed when the modal opens (a software key needs no probe)."""
        super().__init__()
        translate_bindings(self)
        self.official = official
        self.offer = offer or SignOffer(official)
        self.probed = offer is not None or official.kind != "token"
        self.sign = sign
        self.slip_title = slip_title
        self.signing = False

    def compose(self) -> ComposeResult:
        who = self.official
        token = who.kind == "token"
        with Vertical():
            yield Label(
                t("Ký số {slip}", slip=self.slip_title) if self.slip_title else t("Ký số phiếu"),
                id="sign-title",
                markup=False,
            )
            yield Static(
                t("Người ký: {name} — {title}", name=who.name, title=who.title or "?"),
                id="sign-who",
                markup=False,
            )
            yield Static(self._token_text(), id="sign-token", markup=False)
            yield Input(
                password=True,
                compact=True,
                id="sign-input",
                placeholder=t("Mã PIN token") if token else t("Mật khẩu khóa ký số"),
            )
            yield Static("", id="sign-error", classes="-empty", markup=False)
            yield LoadingIndicator(id="sign-busy")
            with Horizontal():
                yield Button(t("Ký số (Enter)"), id="sign-ok", variant="primary", compact=True)
                yield Button(t("In chưa ký số (Esc)"), id="sign-skip", compact=True)

    def _token_text(self) -> str:
        offer = self.offer
        if self.official.kind != "token":
            return ""
        label = offer.token_label or (
            self.official.token.token_label if self.official.token else ""
        )
        head = t("Token «{label}»", label=label or "?")
        if not self.probed:
            return f"{head}: {t('đang đọc token…')}"
        return f"{head}: {t(offer.problem or offer.pin_state)}"

    def on_mount(self) -> None:
        self._show_offer()
        if not self.probed:
            self._busy(True)
            self._probe()
            return
        self._busy(False)
        self._ready()

    def _show_offer(self) -> None:
        token = self.query_one("#sign-token", Static)
        token.update(self._token_text())
        token.set_class(not self._token_text(), "-empty")

    def _ready(self) -> None:
        if self.offer.locked:
            # Another try could not unlock it; the slip can still be printed and signed later.
            self._blocked(t("Token đã bị khóa mã PIN: phiếu sẽ in chưa ký số."))
            self.query_one("#sign-skip", Button).focus()
            return
        self.query_one("#sign-input", Input).focus()

    @work(
        thread=True,
        exclusive=True,
        group="sign-slip",
        exit_on_error=False,
        description="Đọc token ký số",
    )
    def _probe(self) -> None:
        offer = sign_offer(self.official)  # a child process with a timeout: never hangs us
        self.app.call_from_thread(self._probed, offer)

    def _probed(self, offer: SignOffer) -> None:
        if not self.is_attached:
            return  # the clerk chose to print unsigned while the token was being read
        self.offer, self.probed = offer, True
        self._busy(False)
        self._show_offer()
        self._ready()

    def _blocked(self, why: str) -> None:
        self.query_one("#sign-input", Input).disabled = True
        self.query_one("#sign-ok", Button).disabled = True
        self._error(why)

    @on(Input.Submitted, "#sign-input")
    @on(Button.Pressed, "#sign-ok")
    def _submit(self) -> None:
        field = self.query_one("#sign-input", Input)
        if field.disabled:
            return
        secret = field.value
        # Out of the widget at once: the PIN lives only in the worker's call.
        field.value = ""
        if not secret:
            self._error(
                t("Chưa nhập mã PIN.")
                if self.official.kind == "token"
                else t("Chưa nhập mật khẩu.")
            )
            return
        self._busy(True)
        self.signing = True
        self._sign(secret)

    def _busy(self, busy: bool) -> None:
        self.query_one("#sign-input", Input).disabled = busy
        self.query_one("#sign-ok", Button).disabled = busy
        self.query_one("#sign-busy", LoadingIndicator).display = busy
        if busy:
            self._error("")

    @work(
        thread=True,
        exclusive=True,
        group="sign-slip",
        exit_on_error=False,
        description="Ký số phiếu",
    )
    def _sign(self, secret: str) -> None:
        locked = False
        try:
            pdf: bytes | None = self.sign(secret)
            error = ""
        except DeskError as e:  # SigningError: wrong PIN/passphrase, token out, locked desk
            pdf, error = None, str(e)
            cause = e.__cause__
            locked = isinstance(cause, tok.TokenPinError) and cause.locked
        self.app.call_from_thread(self._done, pdf, error, locked)

    def _done(self, pdf: bytes | None, error: str, locked: bool) -> None:
        self.signing = False
        self._busy(False)
        if pdf is not None:
            self.dismiss(pdf)
            return
        if locked:
            self._blocked(error)
            self.query_one("#sign-skip", Button).focus()
            return
        self._error(error + " " + t("Nhập lại, hoặc Esc để in phiếu chưa ký số (ký sau được)."))
        self.query_one("#sign-input", Input).focus()

    def _error(self, text: str) -> None:
        label = self.query_one("#sign-error", Static)
        label.update(text)
        label.set_class(not text, "-empty")

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.signing = False
            self._busy(False)
            desk_app(self).report_worker_error(event.worker)

    @on(Button.Pressed, "#sign-skip")
    def action_unsigned(self) -> None:
        if self.signing:
            return  # a signing is under way: its answer decides
        self.dismiss(None)
