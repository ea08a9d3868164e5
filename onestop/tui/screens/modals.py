"""Modal dialogs: y/n confirmation, the action menu, and the form of one lifecycle action.

Modals are ``ModalScreen[T]`` that bind their own keys, focus themselves and answer through
``dismiss`` (STYLE rule 27).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import DossierState, action_label
from onestop.i18n import t
from onestop.tui._actions import ACTION_FIELDS, MENU_ORDER, parse_form
from onestop.tui._bindings import bind, translate_bindings


class ConfirmModal(ModalScreen[bool]):
    """Yes / no. ``y`` confirms; ``n`` and Esc decline."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmModal #confirm-question { width: 1fr; margin-bottom: 1; }
    ConfirmModal Horizontal { height: auto; align-horizontal: right; }
    ConfirmModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("y", "answer(True)", "Có", "Đồng ý thực hiện", id="confirm.yes"),
        bind("n", "answer(False)", "Không", "Không thực hiện", id="confirm.no"),
        bind(
            "escape", "answer(False)", "Không", "Không thực hiện", id="confirm.escape", show=False
        ),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal():
                yield Button(t("Có (Y)"), id="yes", variant="warning", compact=True)
                yield Button(t("Không (N)"), id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ActionMenuModal(ModalScreen[EventKind | None]):
    """Every lifecycle action: the allowed ones first, the others dimmed with the reason shown
    when chosen (the clerk learns *why*, e.g. that a supplement may be requested only once)."""

    DEFAULT_CSS = """
    ActionMenuModal { align: center middle; }
    ActionMenuModal > Vertical {
        width: 60; height: auto; max-height: 22;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionMenuModal #menu-title { text-style: bold; padding: 0 1; }
    ActionMenuModal OptionList { height: auto; max-height: 18; border: none; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Đóng", "Đóng danh sách thao tác", id="menu.close"),
    ]

    def __init__(self, state: DossierState) -> None:
        super().__init__()
        translate_bindings(self)
        self.state = state

    def compose(self) -> ComposeResult:
        allowed = self.state.allowed_actions()
        options: list[Option | None] = []
        for kind in MENU_ORDER:
            if kind in allowed:
                options.append(Option(action_label(kind), id=kind.value))
        others = [k for k in MENU_ORDER if k not in allowed]
        if others and options:
            options.append(None)
        for kind in others:
            label = Text.assemble(
                (action_label(kind), "dim"), (" — " + t("chưa được phép"), "dim italic")
            )
            options.append(Option(label, id=kind.value))
        with Vertical():
            yield Label(
                t("Thao tác cho hồ sơ {code}", code=self.state.code), id="menu-title", markup=False
            )
            yield OptionList(*options, id="menu-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option_id is not None
        self.dismiss(EventKind(event.option_id))

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ActionFormResult:
    values: dict[str, str]  # what was typed, to reopen the form unchanged after a refusal
    params: dict[str, Any]
    note: str


class ActionFormModal(ModalScreen[ActionFormResult | None]):
    """The parameters of one action. Nothing is saved here: the screen runs the action after
    this closes, and reopens the form with the same values if the desk refuses it."""

    DEFAULT_CSS = """
    ActionFormModal { align: center middle; }
    ActionFormModal > VerticalScroll {
        width: 72; height: auto; max-height: 22;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionFormModal #form-title { text-style: bold; }
    ActionFormModal #form-hint { color: $text-muted; }
    ActionFormModal .form-error { color: $error; text-style: bold; }
    ActionFormModal .form-error.-empty { display: none; }
    ActionFormModal .field-label { margin-top: 1; }
    ActionFormModal Input, ActionFormModal Select { width: 1fr; }
    ActionFormModal Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ActionFormModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("f10", "submit", "Lưu", "Lưu thao tác", id="form.submit"),
        bind("ctrl+s", "submit", "Lưu", "Lưu thao tác", id="form.save", show=False),
        bind("escape", "cancel", "Hủy", "Đóng, không lưu gì", id="form.cancel"),
        bind(
            "enter",
            "enter",
            "Ô tiếp theo",
            "Sang ô tiếp theo; ở ô cuối thì lưu",
            id="form.enter",
            show=False,
            priority=True,
        ),
    ]

    def __init__(
        self,
        kind: EventKind,
        code: str,
        *,
        values: dict[str, str] | None = None,
        error: str = "",
        hint: str = "",
        with_note: bool = True,
        title: str | None = None,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.kind = kind
        self.code = code
        self.values = dict(values or {})
        self.error = error
        self.hint = hint
        self.with_note = with_note
        self.title_text = title or t(
            "{action} — hồ sơ {code}", action=action_label(kind), code=code
        )

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(self.title_text, id="form-title", markup=False)
            if self.hint:
                yield Static(self.hint, id="form-hint", markup=False)
            yield Static(
                self.error,
                id="form-error",
                classes="form-error" + ("" if self.error else " -empty"),
                markup=False,
            )
            for f in ACTION_FIELDS[self.kind]:
                yield Label(t(f.label), classes="field-label", markup=False)
                if f.kind == "choice":
                    value = self.values.get(f.key) or f.choices[0][1]
                    yield Select(
                        [(t(label), v) for label, v in f.choices],
                        value=value,
                        allow_blank=False,
                        compact=True,
                        id=f"field-{f.key}",
                    )
                else:
                    yield Input(
                        self.values.get(f.key, ""),
                        placeholder=t(f.placeholder) if f.placeholder else "",
                        compact=True,
                        id=f"field-{f.key}",
                    )
                yield Static("", id=f"error-{f.key}", classes="form-error -empty", markup=False)
            if self.with_note:
                yield Label(t("Ghi chú"), classes="field-label", markup=False)
                yield Input(self.values.get("_note", ""), compact=True, id="field-_note")
            with Horizontal():
                yield Button(t("Lưu (F10)"), id="form-save", variant="primary", compact=True)
                yield Button(t("Hủy (Esc)"), id="form-cancel", compact=True)

    def on_mount(self) -> None:
        first = self.query("Input, Select").first()
        first.focus()

    def _collect(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for f in ACTION_FIELDS[self.kind]:
            widget = self.query_one(f"#field-{f.key}")
            if isinstance(widget, Select):
                values[f.key] = "" if widget.value is Select.NULL else str(widget.value)
            elif isinstance(widget, Input):
                values[f.key] = widget.value
        if self.with_note:
            values["_note"] = self.query_one("#field-_note", Input).value
        return values

    def action_submit(self) -> None:
        values = self._collect()
        params, errors = parse_form(self.kind, values)
        for f in ACTION_FIELDS[self.kind]:
            label = self.query_one(f"#error-{f.key}", Static)
            message = errors.get(f.key, "")
            label.update(message)
            label.set_class(not message, "-empty")
        if errors:
            first = next(iter(errors))
            self.query_one(f"#field-{first}").focus()
            return
        self.dismiss(ActionFormResult(values, params, values.get("_note", "").strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_enter(self) -> None:
        # As in the intake wizard: move on while the key is dispatched, so type-ahead lands in
        # the next field; submitting waits behind the keys the input has not processed yet.
        focused = self.focused
        if not isinstance(focused, Input):
            raise SkipAction()
        if focused is list(self.query(Input))[-1]:
            focused.call_later(self.action_submit)
        else:
            self.focus_next()

    @on(Button.Pressed, "#form-save")
    def _save(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#form-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class HelpModal(ModalScreen[None]):
    """F1: the keys of the screen underneath, in the desk's language.

    Textual's own help panel lists every binding of the focused widget, in English; a clerk
    needs the desk's keys and the few universal ones, so this lists the bindings that carry an
    ``id`` (every binding of the desk does) and adds the navigation keys in words.
    """

    DEFAULT_CSS = """
    HelpModal { align: center middle; }
    HelpModal > VerticalScroll {
        width: 72; height: auto; max-height: 22;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpModal #help-title { text-style: bold; margin-bottom: 1; }
    HelpModal .help-general { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [
        bind("escape,f1", "close", "Đóng", "Đóng bảng phím", id="help.close"),
    ]

    def __init__(self, rows: list[tuple[str, str, str]], title: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.rows = rows
        self.title_text = title

    def compose(self) -> ComposeResult:
        lines = Text()
        for i, (key, label, tooltip) in enumerate(self.rows):
            if i:
                lines.append("\n")
            lines.append(key.rjust(8), style="bold")
            lines.append(f"  {label}")
            if tooltip and tooltip != label:
                lines.append(f" — {tooltip}", style="dim")
        with VerticalScroll():
            yield Label(
                t("Phím tắt: {screen}", screen=self.title_text), id="help-title", markup=False
            )
            yield Static(lines, markup=False)
            yield Static(
                t(
                    "↑ ↓: di chuyển · Tab: ô tiếp theo · Enter: chọn · Space: đánh dấu · "
                    "Ctrl+P: bảng lệnh, mọi thao tác (gõ không dấu cũng được)"
                ),
                classes="help-general",
                markup=False,
            )

    def action_close(self) -> None:
        self.dismiss(None)
