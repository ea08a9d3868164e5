"""One dossier: who and what, the due date with days left, the whole timeline, and its actions.

An action goes: menu (or palette) → refusal check → form → y/n for irreversible actions →
``Desk.act`` in a thread worker. If the desk refuses (the lifecycle has the last word), the
form opens again with what the clerk typed and the desk's reason.
"""

from __future__ import annotations

from functools import partial

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Rule, Static

from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import DossierState, action_label
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.tui._actions import (
    IRREVERSIBLE,
    MENU_ORDER,
    form_hint,
    initial_values,
    refusal_message,
)
from onestop.tui._app_ref import desk_app
from onestop.tui._bindings import bind
from onestop.tui._digitised import may_change
from onestop.tui.messages import ActionRefused, DossierActed, DossierLoaded
from onestop.tui.screens._base import DeskScreen, PaletteCommand
from onestop.tui.screens.modals import (
    ActionFormModal,
    ActionFormResult,
    ActionMenuModal,
    ConfirmModal,
)
from onestop.tui.widgets.dossier.summary import DossierSummary
from onestop.tui.widgets.dossier.timeline import Timeline


class DossierDetailScreen(DeskScreen):
    BAR_TITLE = "Chi tiết hồ sơ"
    BINDINGS = [
        bind("escape", "back", "Quay lại", "Về màn hình trước", id="detail.back"),
        bind("f4", "actions", "Thao tác", "Các thao tác xử lý hồ sơ này", id="detail.actions"),
        bind("f6", "receipt", "Biên nhận", "Biên nhận và mã QR của hồ sơ", id="detail.receipt"),
        bind("f5", "refresh", "Làm mới", "Tải lại hồ sơ", id="detail.refresh"),
        # Hidden: the footer holds five keys (test_every_screen_shows_at_most_five_footer_keys);
        # F1 and the palette list it.
        bind(
            "f7",
            "digitised",
            "Hồ sơ số hóa",
            "Hồ sơ số hóa: quét, nhập tệp, mở, gỡ",
            id="detail.digitised",
            show=False,
        ),
        bind("f1", "app.toggle_help", "Trợ giúp", "Hiện hoặc ẩn bảng phím", id="detail.help"),
        bind(
            "f10",
            "export",
            "In phiếu",
            "Ghi phiếu của hồ sơ ra PDF, rồi in",
            id="detail.export",
            show=False,
        ),
    ]

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.state: DossierState | None = None
        self.events: list[Event] = []

    def compose_body(self) -> ComposeResult:
        yield DossierSummary(t("Đang tải hồ sơ {code}…", code=self.code), id="summary")
        yield Rule(id="detail-rule")
        yield Timeline(id="timeline")
        yield Static("", id="event-line", markup=False)

    def on_mount(self) -> None:
        self.query_one("#timeline", Timeline).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss()

    def reload(self) -> None:
        self._load()

    @work(
        thread=True,
        exclusive=True,
        group="detail-load",
        exit_on_error=False,
        description="Tải hồ sơ",
    )
    def _load(self) -> None:
        state = self.desk.get(self.code)
        events = self.desk.history(self.code)
        self.post_message(DossierLoaded(state, events))

    def on_dossier_loaded(self, message: DossierLoaded) -> None:
        self.state = message.state
        self.events = message.events  # the evaluation form prefills from the log
        self.query_one("#summary", DossierSummary).show(
            message.state, desk_app(self).now(), self.desk.calendar
        )
        timeline = self.query_one("#timeline", Timeline)
        timeline.show_events(message.events)
        self._show_event_line(timeline.cursor_row)

    @on(DataTable.RowHighlighted, "#timeline")
    def _event_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_event_line(event.cursor_row)

    def _show_event_line(self, row: int) -> None:
        self.query_one("#event-line", Static).update(
            self.query_one("#timeline", Timeline).full_line(row)
        )

    # ------------------------------------------------------------------ actions

    def action_actions(self) -> None:
        if self.state is None:
            return
        self.app.push_screen(ActionMenuModal(self.state), self.begin_action)

    def action_export(self) -> None:
        if self.state is not None:
            from onestop.tui.screens.export import SlipExport

            SlipExport(self, self.state).start()

    def action_receipt(self) -> None:
        if self.state is not None:
            from onestop.tui.screens.receipt import ReceiptScreen

            self.app.push_screen(ReceiptScreen(self.state))

    def action_digitised(self) -> None:
        from onestop.tui.screens.digitised import DigitisedScreen

        self.app.push_screen(DigitisedScreen(self.code))

    def _may_digitise(self) -> bool:
        if self.state is None:
            return False
        status = self.state.status.value
        roles = self.desk.roles
        return may_change(roles, status, result=False) or may_change(roles, status, result=True)

    def begin_action(self, kind: EventKind | None) -> None:
        if kind is None or self.state is None:
            return
        refusal = self.desk.role_refusal(kind) or refusal_message(
            self.state, kind, desk_app(self).now(), self.desk.calendar
        )
        if refusal is not None:
            self.notify(
                refusal, title=t("Không thực hiện được"), severity="error", timeout=10, markup=False
            )
            return
        self._open_form(kind, initial_values(kind, self.state, self.desk.calendar, self.events), "")

    def _open_form(self, kind: EventKind, values: dict[str, str], error: str) -> None:
        self.app.push_screen(
            ActionFormModal(
                kind,
                self.code,
                values=values,
                error=error,
                hint=form_hint(kind, self.state, self.events),
            ),
            partial(self._form_done, kind),
        )

    def _form_done(self, kind: EventKind, result: ActionFormResult | None) -> None:
        if result is None:
            return
        if kind in IRREVERSIBLE:
            question = t(
                "Thực hiện «{action}» cho hồ sơ {code}?\nThao tác này được ghi vào nhật ký và không thể hoàn tác.",
                action=action_label(kind),
                code=self.code,
            )
            self.app.push_screen(ConfirmModal(question), partial(self._confirmed, kind, result))
        else:
            self._run(kind, result)

    def _confirmed(self, kind: EventKind, result: ActionFormResult, yes: bool | None) -> None:
        if yes:
            self._run(kind, result)

    @work(
        thread=True,
        exclusive=True,
        group="detail-act",
        exit_on_error=False,
        description="Ghi thao tác",
    )
    def _run(self, kind: EventKind, result: ActionFormResult) -> None:
        try:
            state = self.desk.act(self.code, kind, result.params, note=result.note)
        except DeskError as e:
            self.post_message(ActionRefused(kind, result.values, str(e)))
            return
        self.post_message(DossierActed(kind, state))

    def on_dossier_acted(self, message: DossierActed) -> None:
        self.notify(t("Đã ghi: {action}.", action=action_label(message.kind)), markup=False)
        self.reload()

    def on_action_refused(self, message: ActionRefused) -> None:
        self._open_form(message.kind, message.values, message.message)

    def palette_commands(self) -> list[PaletteCommand]:
        commands = []
        for kind in MENU_ORDER:
            why = (
                refusal_message(self.state, kind, desk_app(self).now(), self.desk.calendar)
                if self.state
                else None
            )
            commands.append(
                PaletteCommand(
                    action_label(kind),
                    partial(self.begin_action, kind),
                    t("Chưa được phép lúc này")
                    if why
                    else t("Thao tác cho hồ sơ {code}", code=self.code),
                )
            )
        commands.append(PaletteCommand(t("Xem biên nhận và mã QR"), self.action_receipt))
        commands.append(
            PaletteCommand(
                t("Hồ sơ số hóa: quét, nhập tệp, mở, gỡ")
                if self._may_digitise()
                else t("Hồ sơ số hóa: xem và mở các bản số hóa"),
                self.action_digitised,
                "F7",
            )
        )
        commands.append(
            PaletteCommand(t("In / xuất phiếu của hồ sơ ra PDF"), self.action_export, "F10")
        )
        return commands
