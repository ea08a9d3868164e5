"""The receipt after intake, and the full-screen QR view.

The QR view has no chrome and is black on white whatever the theme (STYLE rule 29). The
signed receipt QR (version ~11, about 65×33 cells) cannot fit 80×24 at all. It needs the desk
key: unlocked automatically on a demo desk or with ``ONESTOP_PASSPHRASE``, else the clerk types
the passphrase once (``PassphraseModal``) and the key stays in memory for the session. Without
it the view shows the dossier code as a *lookup* code and says plainly that it is not the
signed proof printed on the slip. F10 writes the receipt slip (PDF, with the signed QR) to a
file and offers to print it.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Center, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Static

from onestop.crypto.signer import Signer
from onestop.domain.fee_state import fee_line
from onestop.domain.lifecycle import DossierState, status_label
from onestop.domain.text import datetime_text
from onestop.forms.slips import SlipKind
from onestop.i18n import t, tn
from onestop.services.desk import Desk, DeskError
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings
from onestop.tui._digitised import may_change
from onestop.tui._format import channel_label
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.widgets.digitised.summary import DigitisedSummary


def receipt_text(state: DossierState) -> Text:
    out = Text()
    out.append(t("Mã hồ sơ") + "\n", style="bold")
    out.append(f"  {state.code}\n\n", style="bold reverse")
    rows = [
        (t("Người nộp"), state.applicant_name),
        (t("Thủ tục"), f"{state.procedure_code} {state.procedure_name}"),
        (t("Tiếp nhận lúc"), datetime_text(state.received_at)),
        (t("Kênh nộp"), channel_label(state.channel)),
        (t("Phí, lệ phí"), fee_line(state.fee_vnd, state.fee_paid)),
        (t("Giấy tờ đã nhận"), tn("{n} loại", len(state.documents))),
        (t("Trạng thái"), status_label(state.status)),
    ]
    for label, value in rows:
        out.append(f"{label}: ", style="bold")
        out.append(f"{value}\n")
    out.append("\n")
    out.append(t("HẸN TRẢ KẾT QUẢ: "), style="bold")
    due = (
        datetime_text(state.due_at)
        if state.due_at
        else t("Không có ngày hẹn trả cụ thể theo quy định")
    )
    out.append(due + "\n", style="bold reverse")
    return out


class ReceiptScreen(DeskScreen):
    BAR_TITLE = "Biên nhận hồ sơ"
    BINDINGS = [
        bind("escape", "done", "Xong", "Đóng biên nhận", id="receipt.done"),
        bind("f6", "qr", "Mã QR", "Hiện mã QR toàn màn hình", id="receipt.qr"),
        bind("f4", "open_dossier", "Xem hồ sơ", "Mở chi tiết hồ sơ", id="receipt.dossier"),
        bind("f2", "app.open_intake", "Tiếp nhận mới", "Tiếp nhận hồ sơ khác", id="receipt.intake"),
        bind(
            "f10",
            "export",
            "In / xuất PDF",
            "Ghi giấy tiếp nhận ra tệp PDF, rồi in",
            id="receipt.export",
        ),
        bind(
            "f7",
            "digitised",
            "Số hóa",
            "Số hóa thành phần hồ sơ: quét hoặc nhập tệp từng giấy tờ",
            id="receipt.digitised",
            show=False,
        ),
    ]

    def __init__(self, state: DossierState) -> None:
        super().__init__()
        self.state = state

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="receipt-body"):
            yield Static(receipt_text(self.state), id="receipt", markup=False)
            yield Static(
                t(
                    "F6: mã QR toàn màn hình. F10: ghi giấy tiếp nhận ra tệp PDF (mã QR có chữ ký số, kiểm tra không cần mạng) rồi in."
                ),
                id="receipt-hint",
                markup=False,
            )
            yield Static("", id="receipt-file", markup=False)
            # The papers just received, per component with page counts (F7 scans them).
            yield DigitisedSummary(id="receipt-digitised")

    def on_screen_resume(self) -> None:
        summary = self.query_one("#receipt-digitised", DigitisedSummary)
        summary.show(
            self.desk, self.state.code, can_change=bool(self.check_action("digitised", ()))
        )

    def action_done(self) -> None:
        self.dismiss()

    def action_qr(self) -> None:
        self._prepare_qr()

    @work(
        thread=True,
        exclusive=True,
        group="receipt-qr",
        exit_on_error=False,
        description="Ký mã QR biên nhận",
    )
    def _prepare_qr(self) -> None:
        keyring = desk_app(self).keyring
        signer = keyring.automatic(self.desk)
        ask = signer is None and keyring.desk_has_key(self.desk)
        self.app.call_from_thread(self._show_qr, signer, ask)

    def _show_qr(self, signer: Signer | None, ask: bool) -> None:
        if not ask:
            self.app.push_screen(QrScreen(self.state.code, self.desk, signer))
            return
        from onestop.tui.screens.passphrase import PassphraseModal

        def unlocked(result: Signer | None) -> None:
            if result is not None:
                desk_app(self).sync.unlocked()
            self.app.push_screen(QrScreen(self.state.code, self.desk, result))

        self.app.push_screen(
            PassphraseModal(t("Nhập mật khẩu để hiện mã QR có chữ ký số.")), unlocked
        )

    def action_export(self) -> None:
        from onestop.tui.screens.export import SlipExport

        SlipExport(self, self.state, only=SlipKind.RECEIPT, on_written=self._written).start()

    def _written(self, path: Path) -> None:
        self.query_one("#receipt-file", Static).update(t("Đã ghi: {path}", path=path))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "digitised":
            return may_change(self.desk.roles, self.state.status.value, result=False)
        return True

    def action_digitised(self) -> None:
        from onestop.tui.screens.digitised import DigitisedScreen

        self.app.push_screen(DigitisedScreen(self.state.code))

    def action_open_dossier(self) -> None:
        self.app.pop_screen()
        desk_app(self).open_dossier(self.state.code)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand(t("Hiện mã QR toàn màn hình"), self.action_qr),
            PaletteCommand(t("Xem chi tiết hồ sơ"), self.action_open_dossier),
            *(
                [PaletteCommand(t("Số hóa thành phần hồ sơ"), self.action_digitised, "F7")]
                if self.check_action("digitised", ())
                else []
            ),
            PaletteCommand(t("In / xuất giấy tiếp nhận ra tệp PDF"), self.action_export, "F10"),
        ]


def signed_qr_lines(desk: Desk, code: str, signer: Signer | None = None) -> list[str] | None:
    """The signed receipt QR (the same as on the printed slip), when the desk key is unlocked.

    ``signer`` is the session's unlocked key; without one, ``ONESTOP_PASSPHRASE`` or (on a
    demo desk) the published demo passphrase is tried. Otherwise None: the caller shows the
    labelled lookup code.
    """
    from onestop.forms.qr import qr_terminal
    from onestop.services.receipts import issue_receipt
    from onestop.tui._session_key import SessionKey

    signer = signer or SessionKey().automatic(desk)
    if signer is None:
        return None
    try:
        return qr_terminal(issue_receipt(desk, code, signer).qr_text)
    except (DeskError, ValueError):
        return None


def lookup_qr_lines(code: str) -> list[str] | str:
    """Half-block lines of the dossier code's lookup QR, or why it cannot be drawn."""
    try:
        from onestop.forms.qr import qr_terminal
    except ImportError:
        return t("Không vẽ được mã QR: bản cài đặt thiếu thư viện vẽ mã QR, hãy cài lại onestop.")
    try:
        return qr_terminal(code)
    except ValueError as e:
        return str(e)


class QrScreen(Screen[None]):
    """Full screen, no chrome, black on white; any of Esc, Enter, q closes it."""

    DEFAULT_CSS = """
    QrScreen { background: white; color: black; align: center middle; }
    QrScreen #qr-label { width: auto; color: black; background: white; text-style: bold; }
    QrScreen #qr-code { width: auto; color: black; background: white; }
    QrScreen #qr-too-small { width: 70; color: black; background: white; }
    """

    BINDINGS = [
        bind("escape,enter,q", "close", "Đóng", "Đóng mã QR", id="qr.close"),
    ]

    def __init__(self, code: str, desk: Desk | None = None, signer: Signer | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.code = code
        signed = signed_qr_lines(desk, code, signer) if desk is not None else None
        self.signed = signed is not None
        self.lines = signed if signed is not None else lookup_qr_lines(code)

    def compose(self) -> ComposeResult:
        with Center():
            label = (
                t("Biên nhận có chữ ký số — hồ sơ {code}", code=self.code)
                if self.signed
                else t("Mã tra cứu hồ sơ {code} (không phải mã có chữ ký số)", code=self.code)
            )
            yield Static(
                label,
                id="qr-label",
                markup=False,
            )
        with Center():
            yield Static("", id="qr-code", markup=False)
        with Center():
            yield Static("", id="qr-too-small", markup=False)

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        code = self.query_one("#qr-code", Static)
        small = self.query_one("#qr-too-small", Static)
        if isinstance(self.lines, str):
            code.display = False
            small.update(self.lines)
            return
        need_w, need_h = len(self.lines[0]), len(self.lines) + 1
        fits = need_w <= width and need_h <= height
        code.display = fits
        small.display = not fits
        if fits:
            code.update("\n".join(self.lines))
        else:
            small.update(
                t(
                    "Cửa sổ quá nhỏ để hiện mã QR: cần {w}×{h} ô, đang có {W}×{H}. "
                    "Hãy phóng to cửa sổ hoặc dùng phiếu in.",
                    w=need_w,
                    h=need_h,
                    W=width,
                    H=height,
                )
            )

    def action_close(self) -> None:
        self.dismiss()
