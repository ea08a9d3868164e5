"""Export to a file: the modal that asks what and where, then overwrite, write, print.

The flow every export follows (reports, receipts, slips): choose what (a format or a slip)
and the path (prefilled in the ``export_dir`` setting) → if the file exists, y/n to overwrite
→ a thread worker renders and writes it atomically → the path is shown → for a PDF, the offer
to print it with ``lp``, or a plain sentence saying this machine has no printer command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Select, Static

from onestop.crypto.signer import Signer
from onestop.domain.lifecycle import DossierState
from onestop.forms.slips import SLIP_TITLES, SlipDocument, SlipKind, applicable_slips
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.services.printing import receipt_paper, render_receipt_80mm_pdf
from onestop.services.receipts import prepare_slip, sign_slip
from onestop.services.signing import Official, SlipSigning, legal_official, no_secret
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind, translate_bindings
from onestop.tui._export import no_printer_text, print_file, printer_command, write_file
from onestop.tui.screens.modals import ConfirmModal
from onestop.tui.screens.passphrase import PassphraseModal

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class ExportChoice:
    value: str  # the format ("xlsx") or slip kind ("receipt") chosen
    path: Path


class ExportModal(ModalScreen[ExportChoice | None]):
    """What to export and where. ``name_for(value)`` names the file for a choice, so changing
    the format changes the suggested file name (unless the clerk typed a path of their own)."""

    DEFAULT_CSS = """
    ExportModal { align: center middle; }
    ExportModal > Vertical {
        width: 74; height: auto; max-height: 22; padding: 0 1;
        border: thick $primary; background: $surface;
    }
    ExportModal #export-title { text-style: bold; width: 100%; }
    ExportModal #export-note { color: $text-muted; }
    ExportModal .field-label { margin-top: 1; }
    ExportModal Select, ExportModal Input { width: 1fr; }
    ExportModal #export-error { color: $error; text-style: bold; }
    ExportModal #export-error.-empty { display: none; }
    ExportModal Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ExportModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("f10", "save", "Ghi tệp", "Ghi tệp ra đường dẫn này", id="export.save"),
        bind("escape", "cancel", "Hủy", "Đóng, không ghi gì", id="export.cancel"),
    ]

    def __init__(
        self,
        title: str,
        choices: list[tuple[str, str]],
        *,
        folder: Path,
        name_for: Callable[[str], str],
        choice_label: str = "",
        note: str = "",
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.choices = choices
        self.folder = folder
        self.name_for = name_for
        self.choice_label = choice_label or t("Định dạng")
        self.note = note
        self._suggested = str(folder / name_for(choices[0][1]))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="export-title", markup=False)
            if self.note:
                yield Static(self.note, id="export-note", markup=False)
            yield Label(self.choice_label, classes="field-label", markup=False)
            yield Select(
                self.choices,
                value=self.choices[0][1],
                allow_blank=False,
                compact=True,
                id="export-choice",
            )
            yield Label(t("Ghi vào tệp"), classes="field-label", markup=False)
            # No select-all on focus: one stray key would replace the whole path (a file named
            # "S-Tab" was written that way); the cursor waits at the end instead.
            yield Input(self._suggested, compact=True, id="export-path", select_on_focus=False)
            yield Static("", id="export-error", classes="-empty", markup=False)
            with Horizontal():
                yield Button(t("Ghi tệp (F10)"), id="export-ok", variant="primary", compact=True)
                yield Button(t("Hủy (Esc)"), id="export-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Select.Changed, "#export-choice")
    def _choice_changed(self, event: Select.Changed) -> None:
        field = self.query_one("#export-path", Input)
        if event.value is Select.NULL or field.value != self._suggested:
            return  # the clerk typed a path of their own: keep it
        self._suggested = str(self.folder / self.name_for(str(event.value)))
        field.value = self._suggested

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-ok")
    def action_save(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        error = self.query_one("#export-error", Static)
        if not text:
            error.update(t("Chưa nhập đường dẫn tệp."))
            error.remove_class("-empty")
            return
        value = str(self.query_one("#export-choice", Select).value)
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.folder / path  # a bare name goes to the export folder, not the cwd
        if path.is_dir():
            error.update(t("{path} là một thư mục; thêm tên tệp vào sau.", path=path))
            error.remove_class("-empty")
            return
        self.dismiss(ExportChoice(value, with_extension(path, self.name_for(value))))

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# What a clerk may have typed for another format: replaced, not kept ("bao-cao.xlsx.csv").
EXPORT_SUFFIXES = frozenset({".pdf", ".xlsx", ".xls", ".ods", ".csv", ".json", ".txt", ".docx"})


def with_extension(path: Path, suggested_name: str) -> Path:
    """``path`` ending in the chosen format's extension (the suffix of ``suggested_name``):
    added when missing, put in place of another format's, kept when it already is right."""
    want = Path(suggested_name).suffix
    have = path.suffix
    if not want or have.lower() == want.lower():
        return path
    if have.lower() in EXPORT_SUFFIXES:
        return path.with_suffix(want)
    return path.with_name(path.name + want)


def confirm_overwrite(screen: Screen[Any], path: Path, go: Callable[[], None]) -> None:
    """Run ``go`` now, or after a y/n when ``path`` already exists."""
    if not path.exists():
        go()
        return

    def answered(yes: bool | None) -> None:
        if yes:
            go()

    screen.app.push_screen(
        ConfirmModal(t("Tệp {path} đã có. Ghi đè lên tệp đó?", path=path)), answered
    )


def exported(
    screen: Screen[Any], path: Path, *, printable: bool, note: str = "", toast: bool = True
) -> None:
    """Say where the file is; for a PDF offer ``lp``, or say plainly there is no printer.

    ``toast=False``: the screen already shows the path in its own status line."""
    if toast:
        message = t("Đã ghi {path}", path=path) + (f"\n{note}" if note else "")
        screen.notify(message, title=t("Đã xuất tệp"), timeout=10, markup=False)
    if not printable:
        return
    via = printer_command()
    if via is None:
        screen.notify(no_printer_text(), severity="warning", timeout=10, markup=False)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            screen.run_worker(
                partial(_print_in_thread, screen, path),
                group="print",
                description="In tệp",
                thread=True,
                exit_on_error=False,
            )

    screen.app.push_screen(
        ConfirmModal(t("In {name} ra máy in mặc định ({via})?", name=path.name, via=via)),
        answered,
    )


def _print_in_thread(screen: Screen[Any], path: Path) -> None:
    try:
        text, severity = print_file(path), "information"
    except DeskError as e:
        text, severity = str(e), "error"
    screen.app.call_from_thread(screen.notify, text, severity=severity, timeout=10, markup=False)


# ------------------------------------------------------------------------------ dossier slips


#: The export choice of the receipt on an 80 mm roll (forms/thermal.py).
RECEIPT_80MM = "receipt-80mm"


def slip_file_name(code: str, kind: str) -> str:
    return f"{code.replace('/', '-')}-{kind}.pdf"


class SlipExport:
    """Write a dossier's slip (receipt with its signed QR, supplement, refusal, apology, stop
    notice, control slip) to a PDF, signing it with the session key when it can be unlocked.

    ``on_written(path)`` lets the screen show the path it wrote. Not a widget: it runs its
    workers on the screen that started it, so they stop when that screen goes away.
    """

    def __init__(
        self,
        screen: Screen[Any],
        state: DossierState,
        *,
        only: SlipKind | None = None,
        on_written: Callable[[Path], None] | None = None,
    ) -> None:
        self.screen = screen
        self.state = state
        self.only = only
        self.on_written = on_written

    def start(self) -> None:
        self.screen.run_worker(
            self._prepare,
            group="slip-export",
            description="Chuẩn bị phiếu in",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _prepare(self) -> None:
        desk = desk_app(self.screen).desk
        assert desk is not None
        if self.only is not None:
            kinds = [self.only]
        else:
            kinds = applicable_slips(self.state, desk.history(self.state.code))
        has_key = desk_app(self.screen).keyring.desk_has_key(desk)
        signer = desk_app(self.screen).keyring.automatic(desk)
        paper = receipt_paper(desk)
        desk_app(self.screen).call_from_thread(self._choose, kinds, has_key, signer, paper)

    def _choose(
        self, kinds: list[SlipKind], has_key: bool, signer: Signer | None, paper: str = "a4"
    ) -> None:
        if not kinds:
            self.screen.notify(
                t("Hồ sơ này chưa có phiếu nào để in."), severity="warning", markup=False
            )
            return
        code = self.state.code
        note = ""
        if not has_key:
            note = t("Quầy chưa có khóa ký: phiếu in sẽ không có chữ ký số.")
        elif signer is None:
            note = t("Sẽ hỏi mật khẩu khóa ký để phiếu có chữ ký số.")
        choices = [(t(SLIP_TITLES[k]).capitalize(), k.value) for k in kinds]
        if SlipKind.RECEIPT in kinds:
            # The same receipt on an 80 mm thermal roll; first when the desk prints on one.
            thermal = (t("Giấy tiếp nhận hồ sơ, khổ 80 mm (máy in nhiệt)"), RECEIPT_80MM)
            choices.insert(0 if paper == "80mm" else 1, thermal)
        modal = ExportModal(
            t("Xuất phiếu của hồ sơ {code}", code=code),
            choices,
            folder=desk_app(self.screen).export_dir,
            name_for=partial(slip_file_name, code),
            choice_label=t("Phiếu"),
            note=note,
        )
        self.screen.app.push_screen(modal, partial(self._chosen, has_key, signer))

    def _chosen(self, has_key: bool, signer: Signer | None, choice: ExportChoice | None) -> None:
        if choice is None:
            return
        confirm_overwrite(self.screen, choice.path, partial(self._sign, choice, has_key, signer))

    def _sign(self, choice: ExportChoice, has_key: bool, signer: Signer | None) -> None:
        if signer is not None or not has_key:
            self._render(choice, signer)
            return
        self.screen.app.push_screen(
            PassphraseModal(t("Nhập mật khẩu để phiếu in có chữ ký số.")),
            partial(self._unlocked, choice),
        )

    def _unlocked(self, choice: ExportChoice, signer: Signer | None) -> None:
        if signer is None:
            self.screen.notify(
                t("Không mở khóa: phiếu in không có chữ ký số."), severity="warning", markup=False
            )
        else:
            desk_app(self.screen).sync.unlocked()
        self._render(choice, signer)

    def _render(self, choice: ExportChoice, signer: Signer | None) -> None:
        self.screen.run_worker(
            partial(self._write, choice, signer),
            group="slip-export",
            description="Xuất phiếu ra tệp PDF",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _write(self, choice: ExportChoice, signer: Signer | None) -> None:
        desk = desk_app(self.screen).desk
        assert desk is not None
        if choice.value == RECEIPT_80MM:
            pdf = render_receipt_80mm_pdf(desk, self.state.code, signer)
            path = write_file(choice.path, pdf)
            desk_app(self.screen).call_from_thread(self._written, path, signer is not None)
            return
        # The legal signer's PAdES signature (issue 15): asked only of that very person, when
        # their key is on this desk; the prompt and its signing live in SignSlipModal.
        kind, doc = prepare_slip(desk, self.state.code, choice.value, signer)
        official = legal_official(desk, doc, kind)
        if official is not None:
            desk_app(self.screen).call_from_thread(
                self._ask_pin, choice, signer, kind, doc, official
            )
            return
        self._save(choice, signer, sign_slip(desk, doc, kind, None))

    def _ask_pin(
        self,
        choice: ExportChoice,
        signer: Signer | None,
        kind: SlipKind,
        doc: SlipDocument,
        official: Official,
    ) -> None:
        from onestop.tui.screens.sign_prompt import SignSlipModal

        desk = desk_app(self.screen).desk
        assert desk is not None

        def sign_with(secret: str) -> bytes:
            return sign_slip(desk, doc, kind, lambda _official: secret).pdf

        def answered(pdf: bytes | None) -> None:
            self.screen.run_worker(
                partial(self._finish, choice, signer, kind, doc, pdf),
                group="slip-export",
                description="Xuất phiếu ra tệp PDF",
                thread=True,
                exclusive=True,
                exit_on_error=False,
            )

        modal = SignSlipModal(official, sign_with, slip_title=t(SLIP_TITLES[kind]))
        self.screen.app.push_screen(modal, answered)

    def _finish(
        self,
        choice: ExportChoice,
        signer: Signer | None,
        kind: SlipKind,
        doc: SlipDocument,
        pdf: bytes | None,
    ) -> None:
        desk = desk_app(self.screen).desk
        assert desk is not None
        if pdf is None:  # the signer chose to print it unsigned
            self._save(choice, signer, sign_slip(desk, doc, kind, no_secret))
        else:
            self._save(choice, signer, SlipSigning(pdf, True, "", ""))

    def _save(self, choice: ExportChoice, signer: Signer | None, slip: SlipSigning) -> None:
        path = write_file(choice.path, slip.pdf)
        notes = [] if signer is not None else [t("Phiếu không có chữ ký số của quầy.")]
        if not slip.signed:
            notes.append(
                t(
                    "Phiếu in «(Chưa ký số)»: {name} ký sau bằng lệnh «onestop sign-pdf {file}».",
                    name=slip.signer,
                    file=path,
                )
                if slip.signer
                else slip.reason
            )
        desk_app(self.screen).call_from_thread(self._written, path, True, " ".join(notes))

    def _written(self, path: Path, signed: bool, note: str = "") -> None:
        if self.on_written is not None:
            self.on_written(path)
        if not note and not signed:
            note = t("Phiếu không có chữ ký số.")
        exported(self.screen, path, printable=True, note=note)
