"""The intake wizard: procedure → applicant → papers, channel, fee → check and confirm.

All four steps stay mounted (a ``ContentSwitcher`` only hides them), so nothing typed is lost
when the clerk goes back or when validation sends them to a field. Nothing is written until
the confirm key on the last step, which shows the computed appointment first. Validation is
the desk's own (``Desk.preview_intake``), run in a thread worker; its errors come back field by
field and are shown under each field in Vietnamese.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from onestop.domain.catalogue import clerk_sets_fee
from onestop.domain.cccd import CccdError, parse_cccd, parse_chip_qr
from onestop.domain.events import EventKind
from onestop.domain.fee_state import fee_line
from onestop.domain.lifecycle import CHANNEL_LABELS, Channel, Status
from onestop.domain.text import datetime_text, format_vnd
from onestop.i18n import t, tn
from onestop.services.catalogue import ProcedureInfo
from onestop.services.desk import Applicant, IntakeError, IntakeForm, IntakePreview
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._digitised import may_change
from onestop.tui._format import parse_amount, parse_datetime
from onestop.tui.messages import DossierReceived, DossierRefused, IntakeChecked, ProceduresFound
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.screens.modals import ActionFormModal, ActionFormResult, ConfirmModal

STEPS = ("Thủ tục", "Người nộp", "Giấy tờ, kênh, phí", "Xác nhận")

# Which step shows each error key of ``IntakeError.errors``, and the widget to focus for it.
ERROR_FIELDS: dict[str, tuple[int, str]] = {
    "procedure": (1, "#proc-query"),
    "applicant_name": (2, "#app-name"),
    "applicant_id": (2, "#app-id"),
    "applicant_phone": (2, "#app-phone"),
    "applicant_email": (2, "#app-email"),
    "applicant_address": (2, "#app-address"),
    "proxy_name": (2, "#proxy-name"),
    "proxy_id": (2, "#proxy-id"),
    "proxy_phone": (2, "#proxy-phone"),
    "proxy_paper": (2, "#proxy-paper"),
    "documents": (3, "#docs"),
    "fee": (3, "#fee"),
    "due": (3, "#due"),
    "note": (3, "#note"),
    "received_at": (4, "#confirm"),
}

_CHANNELS = (Channel.IN_PERSON, Channel.POST, Channel.ONLINE)


def _row(label: str, widget_id: str, *, placeholder: str = "") -> ComposeResult:
    """A labelled one-line input and, under it, the line for its error (hidden when empty)."""
    with Horizontal(classes="row"):
        yield Label(label, classes="lbl", markup=False)
        yield Input(placeholder=placeholder, id=widget_id.lstrip("#"), compact=True)
    yield Static("", id="err-" + widget_id.lstrip("#"), classes="field-error -empty", markup=False)


class IntakeScreen(DeskScreen):
    BAR_TITLE = "Tiếp nhận hồ sơ"
    BINDINGS = [
        bind("escape", "cancel", "Hủy", "Bỏ hồ sơ đang nhập", id="intake.cancel"),
        bind("f7", "prev_step", "Trước", "Về bước trước", id="intake.prev"),
        bind("f8", "next_step", "Tiếp", "Kiểm tra và sang bước tiếp theo", id="intake.next"),
        bind("f4", "refuse", "Từ chối", "Từ chối tiếp nhận, ghi rõ lý do", id="intake.refuse"),
        bind(
            "f10", "confirm", "Xác nhận", "Xem hẹn trả rồi xác nhận tiếp nhận", id="intake.confirm"
        ),
        bind("ctrl+s", "confirm", "Xác nhận", "Như F10", id="intake.confirm-alt", show=False),
        bind(
            "f6", "scan", "Quét QR", "Quét hoặc dán mã QR trên CCCD", id="intake.scan", show=False
        ),
        bind(
            "enter",
            "enter",
            "Ô tiếp theo",
            "Chọn thủ tục hoặc sang ô tiếp theo",
            id="intake.enter",
            show=False,
            priority=True,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.step = 1
        self.procedure: ProcedureInfo | None = None
        self.found: dict[str, ProcedureInfo] = {}
        self.preview: IntakePreview | None = None
        self.errors: dict[str, str] = {}
        self._refusal_values: dict[str, str] = {}
        self._qr_previous = ""
        self._busy = False
        self._found_for: str | None = None  # the query the procedure list answers
        self._choose_when_found = False

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        yield Static(self._steps_text(), id="steps", markup=False)
        yield Static("", id="chosen", markup=False)
        with ContentSwitcher(initial="step-1", id="wizard"):
            with Vertical(id="step-1"):
                yield Label(
                    t("Gõ một phần tên hoặc mã thủ tục (không dấu cũng được), Enter để chọn:"),
                    markup=False,
                )
                yield Input(
                    placeholder=t("ví dụ: chung thuc, khai sinh, 2.000884"),
                    id="proc-query",
                    compact=True,
                )
                yield Static("", id="err-proc-query", classes="field-error -empty", markup=False)
                yield OptionList(id="proc-results")
                yield Static("", id="proc-info", markup=False)
            with VerticalScroll(id="step-2"):
                yield from _row(
                    t("Quét QR CCCD"),
                    "#qr",
                    placeholder=t("quét hoặc dán mã QR ở mặt sau CCCD gắn chip"),
                )
                # The number before the name: a barcode scanner (or the clerk reading the card)
                # gives the CCCD first, then Tab, then the name is typed (issue 17).
                yield from _row(t("Số CCCD *"), "#app-id", placeholder=t("12 chữ số"))
                yield from _row(t("Họ và tên *"), "#app-name")
                yield from _row(t("Điện thoại"), "#app-phone")
                yield from _row(t("Email"), "#app-email")
                yield from _row(t("Địa chỉ"), "#app-address")
                yield Checkbox(t("Có người nộp thay (được ủy quyền)"), id="has-proxy")
                with Vertical(id="proxy"):
                    yield from _row(t("Người nộp thay *"), "#proxy-name")
                    yield from _row(t("CCCD người nộp thay *"), "#proxy-id")
                    yield from _row(t("ĐT người nộp thay"), "#proxy-phone")
                    yield from _row(
                        t("Giấy ủy quyền"),
                        "#proxy-paper",
                        placeholder=t("số, ngày của giấy ủy quyền"),
                    )
            with VerticalScroll(id="step-3"):
                yield Label(t("Giấy tờ đã nhận (Space: bỏ chọn hoặc chọn lại)"), markup=False)
                yield SelectionList[int](id="docs")
                yield Static("", id="err-docs", classes="field-error -empty", markup=False)
                with Horizontal(classes="row"):
                    yield Label(t("Kênh nộp"), classes="lbl", markup=False)
                    with RadioSet(id="channel"):
                        for i, ch in enumerate(_CHANNELS):
                            yield RadioButton(t(CHANNEL_LABELS[ch]), value=i == 0)
                with Horizontal(classes="row"):
                    yield Label(t("Phí, lệ phí (đồng)"), classes="lbl", markup=False)
                    yield Input(id="fee", compact=True)
                yield Static("", id="err-fee", classes="field-error -empty", markup=False)
                with Vertical(id="due-row"):
                    yield from _row(
                        t("Hẹn trả"),
                        "#due",
                        placeholder=t("ngày/tháng/năm giờ:phút, hoặc để trống"),
                    )
                yield from _row(t("Ghi chú"), "#note")
                if may_change(self.desk.roles, Status.RECEIVED.value, result=False):
                    # Digitising is not a wizard step: scans are optional at receipt and a
                    # step would hold the citizen at the counter while the scanner warms up.
                    yield Static(
                        t(
                            "Số hóa thành phần hồ sơ: sau khi xác nhận tiếp nhận, nhấn F7 trên "
                            "biên nhận (hoặc F7 trong chi tiết hồ sơ) để quét hoặc nhập tệp cho "
                            "từng giấy tờ."
                        ),
                        id="digitise-hint",
                        markup=False,
                    )
            with VerticalScroll(id="step-4"):
                warning = self.desk.clock_warning()
                if warning:
                    # A wrong clock writes a wrong receipt time and so a wrong legal deadline:
                    # said where the clerk confirms (intake itself is never blocked).
                    yield Static(warning, id="clock-warning", classes="field-error", markup=False)
                yield Static(t("Đang kiểm tra hồ sơ…"), id="intake-preview", markup=False)
                # The fee's state is chosen, never defaulted (issue 17: an unticked "Đã thu"
                # printed "đã nộp 0 đ"); shown only when there is a fee to collect.
                with Horizontal(id="fee-state-row", classes="row"):
                    yield Label(t("Thu phí, lệ phí *"), classes="lbl", markup=False)
                    with RadioSet(id="fee-state"):
                        yield RadioButton(t("Đã thu ngay"), id="fee-collected")
                        yield RadioButton(t("Chưa thu (thu sau)"), id="fee-later")
                yield Static("", id="err-fee-state", classes="field-error -empty", markup=False)
                yield Static("", id="err-summary", classes="field-error -empty", markup=False)
                yield Button(
                    t("Xác nhận tiếp nhận (F10)"), id="confirm", variant="primary", compact=True
                )

    def on_mount(self) -> None:
        warning = self.desk.clock_warning()
        if warning:
            self.notify(warning, severity="warning", timeout=20, markup=False)
        self.query_one("#proxy").display = False
        self.query_one("#due-row").display = False
        self.query_one("#chosen").display = False
        self.query_one("#fee-state-row").display = False
        self.query_one("#proc-query", Input).focus()
        self._find("")

    def _steps_text(self) -> Text:
        out = Text()
        for i, name in enumerate(STEPS, start=1):
            if i > 1:
                out.append(" › ", style="dim")
            label = f" {i} {t(name)} "
            out.append(label, style="bold reverse" if i == self.step else "dim")
        return out

    def _go(self, step: int, focus: str | None = None) -> None:
        if step != 4:
            self.preview = None  # whatever is edited now must be checked again before saving
            self.query_one("#intake-preview", Static).update(t("Đang kiểm tra hồ sơ…"))
        self.step = step
        self.query_one("#wizard", ContentSwitcher).current = f"step-{step}"
        self.query_one("#steps", Static).update(self._steps_text())
        chosen = self.query_one("#chosen", Static)
        chosen.display = step in (2, 3) and self.procedure is not None
        if self.procedure is not None:
            chosen.update(
                t("Thủ tục: {code} {name}", code=self.procedure.code, name=self.procedure.name)
            )
        default_focus = {1: "#proc-query", 2: "#app-id", 3: "#docs", 4: "#confirm"}[step]
        if step == 4 and self._fee_unchosen():
            default_focus = "#fee-state"  # the one question left before confirming
        self.query_one(focus or default_focus).focus()

    def can_leave(self) -> bool:
        return not self._dirty()

    def _dirty(self) -> bool:
        if self.procedure is not None:
            return True
        return any(i.value.strip() for i in self.query(Input) if i.id not in ("proc-query", "fee"))

    # ------------------------------------------------------------------ step 1: procedure

    @on(Input.Changed, "#proc-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._find(event.value)

    @work(
        thread=True,
        exclusive=True,
        group="intake-find",
        exit_on_error=False,
        description="Tìm thủ tục",
    )
    def _find(self, query: str) -> None:
        from onestop.services.procedure_search import find_procedures

        # Best match of all typed words first, then this desk's usual procedures (issue 17).
        found = find_procedures(self.desk, query)
        if not get_current_worker().is_cancelled:
            self.post_message(ProceduresFound(query, found))

    def on_procedures_found(self, message: ProceduresFound) -> None:
        if message.query != self.query_one("#proc-query", Input).value:
            return  # stale: the clerk typed more since
        self.found = {p.code: p for p in message.procedures}
        self._found_for = message.query
        options = self.query_one("#proc-results", OptionList)
        options.set_options(
            Option(Text.assemble((p.code.ljust(10), "bold"), p.name), id=p.code)
            for p in message.procedures
        )
        if message.procedures:
            options.highlighted = 0
            self._clear_error("proc-query")
        else:
            self._show_error(
                "proc-query", t("Không tìm thấy thủ tục nào khớp «{q}».", q=message.query)
            )
        if self._choose_when_found:
            self._choose_when_found = False
            self._query_submitted()

    def _query_submitted(self) -> None:
        if self._found_for != self.query_one("#proc-query", Input).value:
            # Enter came before the results of what was typed: choose when they arrive, never
            # from the list of a shorter, older query.
            self._choose_when_found = True
            return
        option = self.query_one("#proc-results", OptionList).highlighted_option
        if option is not None and option.id is not None:
            self._choose(option.id)

    @on(OptionList.OptionHighlighted, "#proc-results")
    def _option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The facts a clerk checks before choosing: time limit, fee, how many papers.
        proc = self.found.get(event.option_id or "")
        self.query_one("#proc-info", Static).update(self._procedure_text(proc) if proc else "")

    @on(OptionList.OptionSelected, "#proc-results")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None:
            self._choose(event.option_id)

    def _choose(self, code: str) -> None:
        proc = self.found.get(code)
        if proc is None:
            return
        changed = self.procedure is None or self.procedure.code != proc.code
        self.procedure = proc
        self._clear_error("proc-query")
        if changed:
            docs = self.query_one("#docs", SelectionList)
            docs.clear_options()
            docs.add_options([(d, i, True) for i, d in enumerate(proc.documents)])
            # Prefilled only when the catalogue fixes the amount; otherwise the clerk types it.
            fixed = not clerk_sets_fee(proc.fee_basis) and proc.fee_vnd is not None
            self.query_one("#fee", Input).value = str(proc.fee_vnd) if fixed else ""
            self.query_one("#due-row").display = not proc.limit.has_fixed_due
        self._go(2)

    def _procedure_text(self, proc: ProcedureInfo) -> Text:
        out = Text()
        out.append(
            f"{proc.code} {proc.name} ({t('phiên bản {v}', v=proc.version)})\n", style="bold"
        )
        out.append(
            t(
                "Lĩnh vực: {f} · Thời hạn: {limit}",
                f=proc.field,
                limit=proc.time_text(self.desk.calendar.hours.same_day_cutoff),
            )
        )
        # The catalogue's Vietnamese display text, never its English research notes.
        out.append(
            "\n"
            + t("Phí, lệ phí: {fee} · Giấy tờ: {n} loại", fee=proc.fee_text, n=len(proc.documents))
        )
        return out

    # ------------------------------------------------------------------ step 2: applicant

    @on(Input.Changed, "#app-id, #proxy-id")
    def _id_changed(self, event: Input.Changed) -> None:
        widget_id = event.input.id or ""
        value = "".join(event.value.split())
        if not value:
            self._clear_error(widget_id)
            return
        try:
            info = parse_cccd(value, today=desk_app(self).now().date())
        except CccdError as e:
            if e.code == "length" and len(value) < 12:
                self._show_hint(widget_id, t("Đã nhập {n}/12 chữ số.", n=len(value)))
            else:
                self._show_error(widget_id, str(e))
            return
        sex = t("Nam") if info.sex == "nam" else t("Nữ")
        self._show_ok(
            widget_id,
            t(
                "Hợp lệ: {sex}, sinh năm {y}, đăng ký khai sinh tại {place}.",
                sex=sex,
                y=info.birth_year,
                place=info.place_name,
            ),
        )

    @on(Input.Changed, "#app-name, #app-phone, #app-email, #app-address, #proxy-name, #proxy-phone")
    @on(Input.Changed, "#proxy-paper, #fee, #due, #note")
    def _edited(self, event: Input.Changed) -> None:
        # An error shown under a field answers what was there before: editing retires it.
        label = self._label(event.input.id or "")
        if label is not None and label.has_class("-error"):
            self._clear_error(event.input.id or "")

    @on(Input.Changed, "#qr")
    def _qr_changed(self, event: Input.Changed) -> None:
        # A paste arrives as one change of many characters; a scanner types key by key and
        # ends with Enter (``action_enter``), so partial text is never parsed.
        pasted = len(event.value) - len(self._qr_previous) > 1
        self._qr_previous = event.value
        if pasted and event.value.count("|") >= 5:
            self._apply_qr(event.value)

    def _apply_qr(self, text: str) -> None:
        try:
            card = parse_chip_qr(text, today=desk_app(self).now().date())
        except CccdError as e:
            self._show_error("qr", str(e))
            return
        self.query_one("#app-name", Input).value = card.full_name
        self.query_one("#app-id", Input).value = card.cccd
        self.query_one("#app-address", Input).value = card.address
        qr = self.query_one("#qr", Input)
        qr.value = ""
        self._qr_previous = ""
        self._show_ok(
            "qr",
            t(
                "Đã điền từ CCCD: {name}, sinh ngày {dob}.",
                name=card.full_name,
                dob=card.birth_date.strftime("%d/%m/%Y"),
            ),
        )
        self.query_one("#app-phone", Input).focus()

    @on(Checkbox.Changed, "#has-proxy")
    def _proxy_toggled(self, event: Checkbox.Changed) -> None:
        self.query_one("#proxy").display = event.value
        if event.value:
            self.query_one("#proxy-name", Input).focus()

    def action_enter(self) -> None:
        """Enter in a field: choose the procedure, read the scanned QR, or go to the next field.

        A priority binding rather than ``Input.Submitted``: it runs while the app dispatches
        the key, so what is typed right after Enter (a fast typist, a scanner) lands in the
        next field, not in the one being left. The input itself may still hold keys typed
        before Enter in its queue, so what reads its value is queued behind them.
        """
        focused = self.focused
        if not isinstance(focused, Input):
            raise SkipAction()  # buttons, lists, check boxes keep their own Enter
        if focused.id == "proc-query":
            focused.call_later(self._query_submitted)
        elif focused.id == "qr":
            focused.call_later(self._qr_entered)
        else:
            self.focus_next()

    def _qr_entered(self) -> None:
        text = self.query_one("#qr", Input).value
        if text.strip():
            self._apply_qr(text)

    def action_scan(self) -> None:
        if self.step != 2:
            self._go(2, "#qr")
        else:
            self.query_one("#qr", Input).focus()

    # ------------------------------------------------------------------ building the form

    def _form(self) -> tuple[IntakeForm, dict[str, str]]:
        """The form as typed, plus the errors found before asking the desk (unreadable numbers)."""
        local: dict[str, str] = {}

        def val(widget_id: str) -> str:
            return self.query_one(widget_id, Input).value

        applicant = Applicant(
            name=val("#app-name"),
            id_number=val("#app-id"),
            phone=val("#app-phone"),
            address=val("#app-address"),
            email=val("#app-email"),
        )
        proxy = None
        if self.query_one("#has-proxy", Checkbox).value:
            proxy = Applicant(
                name=val("#proxy-name"), id_number=val("#proxy-id"), phone=val("#proxy-phone")
            )
        # The fee field starts with the catalogue's fixed fee; emptied, it means "the catalogue's
        # amount", which the desk refuses when there is none (0 đ is typed as 0).
        fee: int | None = None
        if val("#fee").strip():
            try:
                fee = parse_amount(val("#fee"))
            except ValueError as e:
                local["fee"] = str(e)
        due = None
        if self.procedure is not None and not self.procedure.limit.has_fixed_due:
            # Optional: left empty, the receipt says there is no fixed appointment.
            if val("#due").strip():
                try:
                    due = parse_datetime(val("#due"))
                except ValueError as e:
                    local["due"] = str(e)
        documents: list[str] | None = None
        if self.procedure is not None:
            chosen = set(self.query_one("#docs", SelectionList).selected)
            documents = [d for i, d in enumerate(self.procedure.documents) if i in chosen]
        pressed = self.query_one("#channel", RadioSet).pressed_index
        form = IntakeForm(
            procedure_code=self.procedure.code if self.procedure else "",
            applicant=applicant,
            proxy=proxy,
            proxy_paper=val("#proxy-paper") if proxy else "",
            channel=_CHANNELS[pressed if pressed >= 0 else 0],
            documents=documents,
            fee_vnd=fee,
            fee_paid_now=self._fee_choice() == "fee-collected",
            due_override=due,
            note=val("#note"),
        )
        return form, local

    # ------------------------------------------------------------------ checking and moving

    def action_next_step(self) -> None:
        if self.step == 1:
            if self.procedure is None:
                self._query_submitted()
                if self.procedure is None:
                    self._show_error("proc-query", t("Chưa chọn thủ tục hành chính."))
                return
            self._go(2)
        elif self.step in (2, 3):
            self._check(self.step)

    def action_prev_step(self) -> None:
        if self.step > 1:
            self._go(self.step - 1)

    def _fee_choice(self) -> str:
        pressed = self.query_one("#fee-state", RadioSet).pressed_button
        return pressed.id or "" if pressed is not None else ""

    def _fee_preview(self, fee: int) -> str:
        choice = self._fee_choice()
        if fee <= 0:
            return fee_line(0, 0)
        if not choice:
            return t("{amount} — chọn đã thu hay chưa thu", amount=format_vnd(fee))
        return fee_line(fee, fee if choice == "fee-collected" else 0)

    def _fee_unchosen(self) -> bool:
        return self.preview is not None and self.preview.fee_vnd > 0 and not self._fee_choice()

    @on(RadioSet.Changed, "#fee-state")
    def _fee_chosen(self) -> None:
        self._clear_error("fee-state")
        self._show_preview()

    def action_confirm(self) -> None:
        if self._busy:
            return
        if self.step == 4 and self._fee_unchosen():
            self._show_error(
                "fee-state",
                t("Chọn «Đã thu ngay» hoặc «Chưa thu» trước khi xác nhận (↑↓ rồi Enter)."),
            )
            self.query_one("#fee-state", RadioSet).focus()
            return
        if self.step == 4 and self.preview is not None and not self.errors:
            self._receive()
        else:
            self._check(4)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    def _check(self, step: int) -> None:
        """Validate the whole form for moving past ``step`` (4: the final check)."""
        form, local = self._form()
        self._validate(form, local, step)

    @work(
        thread=True,
        exclusive=True,
        group="intake-check",
        exit_on_error=False,
        description="Kiểm tra hồ sơ",
    )
    def _validate(self, form: IntakeForm, local: dict[str, str], step: int) -> None:
        try:
            preview = self.desk.preview_intake(form)
            errors: dict[str, str] = {}
        except IntakeError as e:
            preview, errors = None, dict(e.errors)
        errors.update(local)
        self.post_message(IntakeChecked(step, None if errors else preview, errors))

    def on_intake_checked(self, message: IntakeChecked) -> None:
        self._show_errors(message.errors)
        relevant = {
            k: v
            for k, v in message.errors.items()
            if ERROR_FIELDS.get(k, (4, ""))[0] <= message.step
        }
        if relevant:
            first = min(relevant, key=lambda k: ERROR_FIELDS.get(k, (4, ""))[0])
            step, widget = ERROR_FIELDS.get(first, (4, "#confirm"))
            self._go(step, widget)
            return
        if message.step < 4:
            self._go(message.step + 1)
            if message.step == 3:
                self._check(4)
            return
        self.preview = message.preview
        self._show_preview()
        if self.step != 4:
            self._go(4)

    def _show_preview(self) -> None:
        p = self.preview
        if p is None:
            return
        fee_row = self.query_one("#fee-state-row")
        asked = p.fee_vnd > 0
        if fee_row.display != asked:
            fee_row.display = asked
            if self._fee_unchosen() and self.step == 4:
                self.query_one("#fee-state", RadioSet).focus()
        form, _ = self._form()
        out = Text()
        rows = [
            (
                t("Thủ tục"),
                f"{p.procedure.code} {p.procedure.name} ({t('phiên bản {v}', v=p.procedure.version)})",
            ),
            (
                t("Thời hạn"),
                p.procedure.limit.describe_vi(self.desk.calendar.hours.same_day_cutoff),
            ),
            (
                t("Người nộp"),
                " · ".join(
                    x
                    for x in (form.applicant.name, form.applicant.id_number, form.applicant.phone)
                    if x
                ),
            ),
        ]
        if form.proxy is not None:
            rows.append(
                (t("Nộp thay"), " · ".join(x for x in (form.proxy.name, form.proxy.id_number) if x))
            )
        rows += [
            (t("Kênh nộp"), t(CHANNEL_LABELS[form.channel])),
            (t("Giấy tờ"), tn("{n} loại", len(p.documents))),
            (
                t("Phí, lệ phí"),
                self._fee_preview(p.fee_vnd),
            ),
            (t("Tiếp nhận"), datetime_text(p.received_at)),
        ]
        for label, value in rows:
            out.append(f"{label}: ", style="bold")
            out.append(f"{value}\n")
        out.append("\n" + t("HẸN TRẢ KẾT QUẢ: "), style="bold")
        due = (
            datetime_text(p.due_at) if p.due_at else t("Không có ngày hẹn trả cụ thể theo quy định")
        )
        out.append(due, style="bold reverse")
        out.append(
            "\n\n" + t("Chưa lưu gì. F10 để xác nhận và cấp mã hồ sơ; F7 để sửa."), style="italic"
        )
        self.query_one("#intake-preview", Static).update(out)

    # ------------------------------------------------------------------ errors

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.errors = errors
        for key, (_, widget) in ERROR_FIELDS.items():
            if key == "received_at":
                continue  # no field for it: the summary on the last step lists it
            target = "docs" if key == "documents" else widget.lstrip("#")
            if key in errors:
                self._show_error(target, errors[key])
            elif self.query(f"#err-{target}"):
                label = self.query_one(f"#err-{target}", Static)
                if label.has_class("-error"):
                    self._clear_error(target)
        summary = self.query_one("#err-summary", Static)
        if errors:
            summary.update(
                t("Hồ sơ chưa hợp lệ, chưa lưu gì:")
                + "\n"
                + "\n".join(f"- {m}" for m in errors.values())
            )
        else:
            summary.update("")
        summary.set_class(not errors, "-empty")

    def _label(self, widget_id: str) -> Static | None:
        found = self.query(f"#err-{widget_id}")
        return found.first(Static) if found else None

    def _set_label(self, widget_id: str, text: str, kind: str) -> None:
        label = self._label(widget_id)
        if label is None:
            return
        label.update(text)
        label.set_class(not text, "-empty")
        for k in ("-error", "-hint", "-ok"):
            label.set_class(k == kind, k)

    def _show_error(self, widget_id: str, text: str) -> None:
        self._set_label(widget_id, text, "-error")

    def _show_hint(self, widget_id: str, text: str) -> None:
        self._set_label(widget_id, text, "-hint")

    def _show_ok(self, widget_id: str, text: str) -> None:
        self._set_label(widget_id, text, "-ok")

    def _clear_error(self, widget_id: str) -> None:
        self._set_label(widget_id, "", "")

    # ------------------------------------------------------------------ saving

    def _receive(self) -> None:
        form, local = self._form()
        if local:
            self._show_errors(local)
            return
        self._busy = True
        self._save(form)

    @work(
        thread=True,
        exclusive=True,
        group="intake-save",
        exit_on_error=False,
        description="Tiếp nhận hồ sơ",
    )
    def _save(self, form: IntakeForm) -> None:
        try:
            state = self.desk.receive(form)
        except IntakeError as e:
            self.post_message(IntakeChecked(4, None, dict(e.errors)))
            return
        finally:
            self._busy = False
        self.post_message(DossierReceived(state))

    def on_dossier_received(self, message: DossierReceived) -> None:
        from onestop.tui.screens.receipt import ReceiptScreen

        self.app.switch_screen(ReceiptScreen(message.state))

    # ------------------------------------------------------------------ refusal

    def action_refuse(self) -> None:
        self.app.push_screen(
            ActionFormModal(
                EventKind.REFUSE,
                "",
                values=self._refusal_values,
                with_note=False,
                title=t("Từ chối tiếp nhận hồ sơ"),
                hint=t(
                    "Hồ sơ bị từ chối vẫn được cấp mã để in phiếu từ chối; cần họ tên người nộp và thủ tục."
                ),
            ),
            self._refusal_typed,
        )

    def _refusal_typed(self, result: ActionFormResult | None) -> None:
        if result is None:
            return
        self._refusal_values = result.values
        question = t(
            "Từ chối tiếp nhận hồ sơ này với lý do:\n«{reason}»?", reason=result.params["reason"]
        )
        self.app.push_screen(
            ConfirmModal(question), partial(self._refusal_confirmed, result.params["reason"])
        )

    def _refusal_confirmed(self, reason: str, yes: bool | None) -> None:
        if yes:
            form, _ = self._form()
            self._refuse(form, reason)

    @work(
        thread=True,
        exclusive=True,
        group="intake-save",
        exit_on_error=False,
        description="Từ chối tiếp nhận",
    )
    def _refuse(self, form: IntakeForm, reason: str) -> None:
        try:
            state = self.desk.refuse_intake(form, reason)
        except IntakeError as e:
            self.post_message(IntakeChecked(4, None, dict(e.errors)))
            return
        self.post_message(DossierRefused(state))

    def on_dossier_refused(self, message: DossierRefused) -> None:
        from onestop.tui.screens.dossier_detail import DossierDetailScreen

        self.notify(
            t("Đã từ chối tiếp nhận. Mã hồ sơ: {code}.", code=message.state.code), markup=False
        )
        self.app.switch_screen(DossierDetailScreen(message.state.code))

    # ------------------------------------------------------------------ leaving

    def action_cancel(self) -> None:
        if not self._dirty():
            self.dismiss()
            return
        self.app.push_screen(
            ConfirmModal(t("Bỏ hồ sơ đang nhập? Những gì đã gõ sẽ mất.")), self._cancel_confirmed
        )

    def _cancel_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.dismiss()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand(t("Bước tiếp theo"), self.action_next_step),
            PaletteCommand(t("Bước trước"), self.action_prev_step),
            PaletteCommand(t("Xác nhận tiếp nhận"), self.action_confirm),
            PaletteCommand(t("Từ chối tiếp nhận"), self.action_refuse),
            PaletteCommand(t("Quét hoặc dán mã QR trên CCCD"), self.action_scan),
        ]
