"""One dossier: who and what, the due date with days left, the whole timeline, and its actions.

An action goes: menu (or palette) → form → y/n for irreversible actions → ``Desk.act`` in a
thread worker. The menu and the palette offer only what this person may do now, lifecycle and
role together (``services/worklist.action_offers``, issue 17); another role's actions are
shown dimmed with who takes them. If the desk still refuses (a typed value, a concurrent
change), the form opens again with what was typed and the desk's reason.
"""

from __future__ import annotations

from functools import partial

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Rule, Static

from onestop.domain.desk_actions import ActionOffer
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import DossierState, action_label
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.tui._actions import IRREVERSIBLE, form_hint, initial_values
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
    EvaluationModal,
)
from onestop.tui.widgets.digitised.summary import DigitisedSummary
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
        self.offers: tuple[ActionOffer, ...] = ()
        self.offers_stale = False
        self.load_generation = 0
        self.forward_to = ""
        self._menu_when_loaded = False

    def compose_body(self) -> ComposeResult:
        yield DossierSummary(t("Đang tải hồ sơ {code}…", code=self.code), id="summary")
        yield Rule(id="detail-rule")
        yield Timeline(id="timeline")
        yield Static("", id="event-line", markup=False)
        # Digitised papers per component with page counts (F7 scans, imports, removes).
        yield DigitisedSummary(id="detail-digitised", compact=True)

    def on_mount(self) -> None:
        self.query_one("#timeline", Timeline).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss()

    def reload(self) -> None:
        # A thread worker cannot be stopped mid-run: a load begun before (say, for the previous
        # person) still posts its answer, so each answer carries the load it belongs to.
        self.load_generation += 1
        self._load(self.load_generation)

    @work(
        thread=True,
        exclusive=True,
        group="detail-load",
        exit_on_error=False,
        description="Tải hồ sơ",
    )
    def _load(self, generation: int) -> None:
        from onestop.services.worklist import action_offers, forward_target

        state = self.desk.get(self.code)
        events = self.desk.history(self.code)
        offers = action_offers(self.desk, state, events)
        self.post_message(
            DossierLoaded(state, events, offers, forward_target(self.desk), generation)
        )

    def person_changed(self) -> None:
        # The next person's actions, not the previous one's: until they arrive, F4 waits for
        # them (a fast hand right after switching must not get the previous person's menu).
        self.offers_stale = True
        self.reload()

    def on_dossier_loaded(self, message: DossierLoaded) -> None:
        if message.generation != self.load_generation:
            return  # an older load's answer; the newer one is on its way
        self.state = message.state
        self.offers = message.offers
        self.offers_stale = False
        self.forward_to = message.forward_to
        if self._menu_when_loaded and self.app.screen is self:
            self._menu_when_loaded = False
            self.call_later(self.action_actions)
        self.events = message.events  # the evaluation form prefills from the log
        self.query_one("#summary", DossierSummary).show(
            message.state, desk_app(self).now(), self.desk.calendar
        )
        self.query_one("#detail-digitised", DigitisedSummary).show(
            self.desk, message.state.code, can_change=self._may_digitise()
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
        if self.state is None or self.offers_stale:
            # F4 pressed while the dossier is still loading (a fast hand, a script): open the
            # menu when it arrives rather than drop the key.
            self._menu_when_loaded = True
            return
        self.app.push_screen(ActionMenuModal(self.code, self.offers), self.begin_action)

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
        offered = next((o for o in self.offers if o.kind == kind), None)
        if offered is None or not offered.available:
            # Not reachable from the menu or the palette, which list only what is available;
            # a stale call (the dossier changed meanwhile) still says why, before any typing.
            why = offered.why if offered is not None else t("chưa được phép lúc này")
            self.notify(
                t("«{action}»: {why}.", action=action_label(kind), why=why),
                title=t("Không thực hiện được"),
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        values = initial_values(kind, self.state, self.desk.calendar, self.events)
        if kind == EventKind.FORWARD and self.forward_to:
            values["to"] = self.forward_to  # the usual handover of this role at this desk
        self._open_form(kind, values, "")

    def _open_form(self, kind: EventKind, values: dict[str, str], error: str) -> None:
        if kind == EventKind.EVALUATE and self.state is not None:
            from onestop.domain.reports import auto_scores

            modal = EvaluationModal(
                self.code, auto_scores(self.state, self.events), values=values, error=error
            )
            self.app.push_screen(modal, partial(self._form_done, kind))
            return
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
        # Only what this person may do now: the palette never offers an action to refuse it.
        commands = [
            PaletteCommand(
                action_label(o.kind),
                partial(self.begin_action, o.kind),
                t("Thao tác cho hồ sơ {code}", code=self.code),
            )
            for o in self.offers
            if o.available
        ]
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
